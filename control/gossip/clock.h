// Clock: the only source of time for the gossip core. The core never reads the
// wall clock and never sleeps: whoever runs it (the real event loop or the
// simulator) calls Node::tick() when Node::next_deadline() has passed.
#pragma once

#include <chrono>

namespace ferry::gossip {

// Monotonic time. Durations in the core are std::chrono types; Config uses
// milliseconds.
using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;
inline constexpr TimePoint kNever = TimePoint::max();

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual TimePoint now() const = 0;
};

// The real monotonic clock, for the agent.
class SteadyClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const override { return std::chrono::steady_clock::now(); }
};

// A clock that moves only when told to: tests and the simulator.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{} + std::chrono::hours(1)) : now_(start) {}
  [[nodiscard]] TimePoint now() const override { return now_; }
  void set(TimePoint t) { now_ = t; }  // never moves backwards: callers keep it monotonic
  void advance(Duration d) { now_ += d; }

 private:
  TimePoint now_;
};

}  // namespace ferry::gossip
