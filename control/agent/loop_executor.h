// Runs work from other threads on the agent's loop thread, so every piece of
// agent state stays single-threaded. Another thread calls call(), which
// queues the work, wakes the loop through an eventfd (the loop watches fd())
// and waits for the result up to a timeout. The loop calls run_pending().
//
// A call that times out is abandoned atomically: either the loop has not
// started it (it never will: the caller gets the timeout error and nothing
// changed) or the loop is running it (the caller then waits for it to
// finish and gets its real result). So a reply always matches what happened.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/result.h"

namespace ferry::agent {

class LoopExecutor {
 public:
  static Result<std::unique_ptr<LoopExecutor>> create();
  ~LoopExecutor();
  LoopExecutor(const LoopExecutor&) = delete;
  LoopExecutor& operator=(const LoopExecutor&) = delete;

  // The eventfd the loop polls for readability.
  [[nodiscard]] int fd() const { return fd_; }

  // Loop thread: runs every queued task not abandoned. Returns how many ran.
  std::size_t run_pending();

  // Stops accepting work; queued and later calls fail at once (agent
  // shutting down). Thread-safe.
  void close();

  // Any other thread: runs `work` on the loop thread and returns its result,
  // or an error naming `what` when the loop did not start it within `timeout`.
  template <class T>
  Result<T> call(const std::string& what, std::chrono::milliseconds timeout, std::function<Result<T>()> work) {
    std::optional<Result<T>> out;
    auto status = submit(what, timeout, [&out, &work] { out.emplace(work()); });
    if (!status) return status.error();
    return std::move(*out);
  }

 private:
  enum class State : std::uint8_t { kQueued, kRunning, kDone, kAbandoned };
  struct Task {
    std::function<void()> fn;
    State state = State::kQueued;
  };

  LoopExecutor() = default;
  Result<void> submit(const std::string& what, std::chrono::milliseconds timeout, std::function<void()> fn);

  int fd_ = -1;
  std::mutex mutex_;
  std::condition_variable done_;
  std::deque<std::shared_ptr<Task>> queue_;
  bool closed_ = false;
};

}  // namespace ferry::agent
