// What a worker does after each poll of its queues: poll again at once while
// frames come in; when they stop, keep polling for a short spin window after
// the last frame (the answer to what it just forwarded usually comes back
// within it: a round trip crosses each data plane twice), yielding the CPU
// now and then so that on shared cores the container it is waiting for gets
// to run; after the window sleep 1, 2, 4 ... us up to the longest sleep.
// Time is whatever monotonic tick the caller gives (TSC cycles in the run
// loop), so tests drive it by hand. Header-only: it runs on the packet path.
#pragma once

#include <algorithm>
#include <cstdint>

namespace ferry::dataplane::app {

class IdleBackoff {
 public:
  // Empty polls before the first sleep even with no spin window: short gaps
  // inside a flow stay polled.
  static constexpr std::uint32_t kMinEmptyPolls = 128;
  // In the spin window, every this many empty polls give the CPU away
  // (sched_yield) if anyone else wants it.
  static constexpr std::uint32_t kYieldEvery = 8;

  enum class Step : std::uint8_t {
    kPoll,   // poll again now
    kSpin,   // poll again after a pause
    kYield,  // poll again after sched_yield()
    kSleep,  // sleep sleep_us(), then poll again
  };

  // `spin_ticks`: the spin window; `max_sleep_us` 0 = busy polling (never sleep or yield).
  IdleBackoff(std::uint64_t spin_ticks, std::uint32_t max_sleep_us)
      : spin_ticks_(spin_ticks), max_sleep_us_(max_sleep_us) {}

  // Empty polls before the first sleep (kMinEmptyPolls by default). A worker
  // that can sleep until a frame arrives (every port it polls is a kernel
  // socket it can wait on) sets 0: a wait costs it no latency beyond the
  // wake-up, and polling would take the CPU its containers need.
  void set_min_empty_polls(std::uint32_t n) { min_empty_polls_ = n; }

  Step after_poll(std::uint32_t received, std::uint64_t now) {
    if (received != 0) {
      last_frame_ = now;
      seen_frame_ = true;
      empty_polls_ = 0;
      sleep_us_ = 0;
      return Step::kPoll;
    }
    if (max_sleep_us_ == 0) {
      return Step::kPoll;
    }
    ++empty_polls_;
    if (empty_polls_ < min_empty_polls_) {
      return Step::kSpin;
    }
    if (seen_frame_ && now - last_frame_ < spin_ticks_) {
      return empty_polls_ % kYieldEvery == 0 ? Step::kYield : Step::kSpin;
    }
    sleep_us_ = std::min(max_sleep_us_, sleep_us_ == 0 ? 1U : sleep_us_ * 2);
    return Step::kSleep;
  }

  [[nodiscard]] std::uint32_t sleep_us() const { return sleep_us_; }

 private:
  std::uint64_t spin_ticks_;
  std::uint32_t max_sleep_us_;
  std::uint64_t last_frame_ = 0;
  bool seen_frame_ = false;
  std::uint32_t empty_polls_ = 0;
  std::uint32_t sleep_us_ = 0;
  std::uint32_t min_empty_polls_ = kMinEmptyPolls;
};

}  // namespace ferry::dataplane::app
