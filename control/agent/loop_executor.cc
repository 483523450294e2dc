#include "control/agent/loop_executor.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace ferry::agent {

Result<std::unique_ptr<LoopExecutor>> LoopExecutor::create() {
  std::unique_ptr<LoopExecutor> e(new LoopExecutor());
  e->fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (e->fd_ < 0) return make_sys_error(errno, "eventfd");
  return e;
}

LoopExecutor::~LoopExecutor() {
  close();
  if (fd_ >= 0) ::close(fd_);
}

void LoopExecutor::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
  for (auto& t : queue_) {
    if (t->state == State::kQueued) t->state = State::kAbandoned;
  }
  queue_.clear();
  done_.notify_all();
}

std::size_t LoopExecutor::run_pending() {
  std::uint64_t value = 0;
  while (::read(fd_, &value, sizeof value) == static_cast<ssize_t>(sizeof value)) {
  }
  std::size_t ran = 0;
  for (;;) {
    std::shared_ptr<Task> task;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      while (!queue_.empty() && queue_.front()->state != State::kQueued) queue_.pop_front();
      if (queue_.empty()) return ran;
      task = queue_.front();
      queue_.pop_front();
      task->state = State::kRunning;
    }
    task->fn();
    ++ran;
    std::lock_guard<std::mutex> lock(mutex_);
    task->state = State::kDone;
    done_.notify_all();
  }
}

Result<void> LoopExecutor::submit(const std::string& what, std::chrono::milliseconds timeout,
                                  std::function<void()> fn) {
  auto task = std::make_shared<Task>();
  task->fn = std::move(fn);
  std::unique_lock<std::mutex> lock(mutex_);
  if (closed_) return make_error("{}: the agent is shutting down", what);
  queue_.push_back(task);
  const std::uint64_t one = 1;
  if (::write(fd_, &one, sizeof one) < 0 && errno != EAGAIN) {
    task->state = State::kAbandoned;
    return make_sys_error(errno, "{}: waking the agent loop", what);
  }
  const bool finished = done_.wait_for(lock, timeout, [&] { return task->state == State::kDone || closed_; });
  if (finished && task->state == State::kDone) return ok();
  if (task->state == State::kRunning) {
    // Started in time: its effects happen, so wait for its real result.
    done_.wait(lock, [&] { return task->state == State::kDone; });
    return ok();
  }
  task->state = State::kAbandoned;
  if (closed_) return make_error("{}: the agent is shutting down", what);
  return make_error("{}: the agent did not take the request within {} ms (busy or stuck); nothing was changed", what,
                    timeout.count());
}

}  // namespace ferry::agent
