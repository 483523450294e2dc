// `ferryctl dp --api ipc://PATH ...`: drives one ferry-dataplane through its
// v1 API. One file per subcommand; this header is what they share.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "control/ferryctl/command.h"
#include "dataplane/api/request.h"

namespace ferry::ctl::dp {

namespace v1 = ::ferry::dataplane::v1;

struct Options {
  std::string api;        // --api ipc://PATH (or $FERRY_DP_API)
  int timeout_ms = 3000;  // --timeout-ms
};

// Checks `request` locally (same rules as the server), sends it, and on
// success stores the reply in `reply`. Returns an exit code; prints the error.
int call(const Options& options, v1::Request request, v1::Reply& reply);

// For commands whose success has nothing to show: call() and print the
// server's message (e.g. "network 42 added").
int call_and_report(const Options& options, v1::Request request);

void add_net(CLI::App& dp, Options& options, Runner& runner);
void add_port(CLI::App& dp, Options& options, Runner& runner);
void add_fdb(CLI::App& dp, Options& options, Runner& runner);
void add_neigh(CLI::App& dp, Options& options, Runner& runner);
void add_flood(CLI::App& dp, Options& options, Runner& runner);
void add_show(CLI::App& dp, Options& options, Runner& runner);
void add_stats(CLI::App& dp, Options& options, Runner& runner);
void add_health(CLI::App& dp, Options& options, Runner& runner);

}  // namespace ferry::ctl::dp
