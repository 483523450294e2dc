// The agent's event loop: one thread, one poll(2) over every descriptor
// the agent serves (the gossip transport's sockets, the admin and metrics
// connections, the Docker executor's eventfd, signals), and timers. Time
// comes from the injected Clock only: tests drive a ManualClock and see
// exactly the timers that are due; the real agent uses a SteadyClock.
//
// A poll source (the gossip transport) brings its own descriptors and its
// own deadline each turn: collect() appends what it wants polled, dispatch()
// gets the same entries back with what poll saw.
#pragma once

#include <poll.h>

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <vector>

#include "control/gossip/clock.h"

namespace ferry::agent {

class EventLoop {
 public:
  using TimerId = std::uint64_t;
  struct Source {
    std::function<void(std::vector<pollfd>&)> collect;
    std::function<void(std::span<const pollfd>)> dispatch;
    std::function<gossip::TimePoint()> next_deadline;  // kNever when nothing is due
  };

  explicit EventLoop(gossip::Clock& clock) : clock_(clock) {}

  [[nodiscard]] gossip::TimePoint now() const { return clock_.now(); }

  // `on_readable` runs when `fd` is readable (or hung up); it may unwatch
  // its own fd.
  void watch(int fd, std::function<void()> on_readable);
  void unwatch(int fd);
  // `on_writable` runs when `fd` is writable (or failed); independent of
  // watch()/unwatch(): a connection can be watched for both.
  void watch_writable(int fd, std::function<void()> on_writable);
  void unwatch_writable(int fd);
  void add_source(Source source);

  // Runs `fn` at `when`, once.
  TimerId at(gossip::TimePoint when, std::function<void()> fn);
  // Runs `fn` every `interval`, the first time after `first`.
  TimerId every(gossip::Duration interval, std::function<void()> fn, gossip::Duration first);
  void cancel(TimerId id);

  // One turn: waits for I/O until the earliest timer, source deadline or
  // `limit` (never longer than `max_wait`), then runs what is ready and
  // every timer that is due. Returns the number of callbacks run.
  std::size_t run_once(gossip::TimePoint limit = gossip::kNever,
                       gossip::Duration max_wait = std::chrono::milliseconds(1000));

  // The earliest timer or source deadline (kNever when none).
  [[nodiscard]] gossip::TimePoint next_deadline() const;

 private:
  struct Timer {
    gossip::TimePoint when;
    gossip::Duration interval{0};  // 0: once
    std::function<void()> fn;
  };
  std::size_t run_timers();

  gossip::Clock& clock_;
  std::map<int, std::function<void()>> watched_;
  std::map<int, std::function<void()>> writable_;
  std::vector<Source> sources_;
  std::map<TimerId, Timer> timers_;
  TimerId next_id_ = 1;
  std::vector<pollfd> fds_;  // reused each turn
};

}  // namespace ferry::agent
