// Running commands from tests: a child process with its output captured and
// a deadline, and polling for a condition with a deadline (tests never sleep
// a fixed time to "wait for" something).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"

namespace ferry::harness {

struct CommandResult {
  int exit_code = -1;  // -1 when killed at the deadline or by a signal
  bool timed_out = false;
  std::string output;  // stdout and stderr, interleaved

  [[nodiscard]] bool succeeded() const { return exit_code == 0; }
};

// Runs argv[0] (looked up in PATH) with stdin from /dev/null; kills its
// whole process group at `timeout`. Fails only when the command could not
// be started; a non-zero exit is a CommandResult.
Result<CommandResult> run_command(const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Polls `condition` every `interval` until it holds (true) or `timeout`
// passes (false). The condition is always tried at least once.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds(10));

// "a b 'c d'" for messages.
std::string join_argv(const std::vector<std::string>& argv);

}  // namespace ferry::harness
