// `ferryctl dp --api ipc://PATH ...`: drives one ferry-dataplane through its
// v1 API. One file per subcommand; this header is what they share. Each
// subcommand builds a typed command from its flags (dataplane/api/request.h's
// make_*, the server's own checks) and prints the typed reply.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "control/ferryctl/command.h"
#include "dataplane/api/reply.h"
#include "dataplane/api/request.h"

namespace ferry::ctl::dp {

struct Options {
  std::string api = "ipc:///run/ferry/dataplane.sock";  // --api ipc://PATH (or $FERRY_DP_API); the packaged default
  int timeout_ms = 3000;                                // --timeout-ms
  bool force = false;                                   // --force: change a data plane an agent owns
};

// Sends `command` and on success stores the reply in `reply`. Returns an
// exit code; prints the error (a refusal as "STATUS: message").
int call(const Options& options, const dp_api::Command& command, dp_api::Reply& reply);

// For commands whose success has nothing to show: call() and print the
// server's message (e.g. "network 42 added").
int call_and_report(const Options& options, const dp_api::Command& command);

// The same for a command built from flags: a flag the server would refuse is
// a usage error, reported before anything is sent.
template <typename Cmd>
int call_and_report(const Options& options, Result<Cmd> command) {
  if (!command) return fail(kExitUsage, command.error().message);
  return call_and_report(options, dp_api::Command{std::move(command).value()});
}

void add_net(CLI::App& dp, Options& options, Runner& runner);
void add_port(CLI::App& dp, Options& options, Runner& runner);
void add_fdb(CLI::App& dp, Options& options, Runner& runner);
void add_neigh(CLI::App& dp, Options& options, Runner& runner);
void add_flood(CLI::App& dp, Options& options, Runner& runner);
void add_show(CLI::App& dp, Options& options, Runner& runner);
void add_stats(CLI::App& dp, Options& options, Runner& runner);
void add_health(CLI::App& dp, Options& options, Runner& runner);
void add_vteps(CLI::App& dp, Options& options, Runner& runner);

}  // namespace ferry::ctl::dp
