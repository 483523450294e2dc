// How ferryctl's command groups plug in: each group (dp, later members,
// networks, ...) lives in its own directory/file and adds a CLI11 subcommand
// whose callbacks store the action to run in a Runner; main() parses, then
// runs it. Exit codes are shared by all groups.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace ferry::ctl {

enum ExitCode : int {
  kExitOk = 0,
  kExitRefused = 1,      // the server answered with a non-OK status
  kExitUsage = 2,        // bad flags or values (CLI11 errors, our own checks)
  kExitUnreachable = 3,  // no answer within the timeout, or a transport error
};

// The action chosen by the command line; returns an exit code.
using Action = std::function<int()>;

struct Runner {
  Action action;
};

// Prints "ferryctl: <message>" on stderr and returns `code`.
int fail(int code, const std::string& message);

// Command groups.
void add_dp_command(CLI::App& app, Runner& runner);
void add_agent_commands(CLI::App& app, Runner& runner);  // members, networks, net, attach, ...

}  // namespace ferry::ctl
