// ferryctl's agent-facing commands (members, networks, endpoints, peers,
// ipam, status, net create/rm, attach, detach): each sends one request to
// ferry-agent's admin socket (control/agent/admin_server.h) and prints the
// reply as an aligned table, or as JSON with --json.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "control/ferryctl/command.h"

namespace ferry::ctl::agent {

struct Options {
  std::string socket = "/run/ferry/agent.sock";  // --socket (or $FERRY_AGENT_SOCKET)
  int timeout_ms = 10000;                        // --timeout-ms
  bool json = false;                             // --json
};

// Adds --socket, --timeout-ms and (when `with_json`) --json to `cmd`.
void add_common(CLI::App& cmd, Options& options, bool with_json);

// Sends `request`; on {"ok": true} stores the reply and returns kExitOk,
// else prints the error and returns kExitRefused / kExitUnreachable.
int call(const Options& options, const nlohmann::json& request, nlohmann::json& reply);

void add_show_commands(CLI::App& app, Options& options, Runner& runner);
void add_net_command(CLI::App& app, Options& options, Runner& runner);
void add_attach_commands(CLI::App& app, Options& options, Runner& runner);

}  // namespace ferry::ctl::agent
