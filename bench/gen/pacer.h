// Rate pacing on the TSC: how many packets are due at a given TSC reading so
// the long-run rate is `pps`, in bursts of at most max_burst. Pure
// arithmetic on the cycle counter passed in (tests feed it made-up times).
//
// After a stall (the lcore was preempted) at most max_backlog packets are
// sent to catch up; the rest of the schedule is skipped and counted, so a
// stall shows as a dip, not as a burst far above the asked rate.
#pragma once

#include <algorithm>
#include <cstdint>

namespace ferry::bench::gen {

class Pacer {
 public:
  // pps == 0: no pacing, every call allows a full burst.
  Pacer(std::uint64_t tsc_hz, std::uint64_t pps, std::uint32_t max_burst, std::uint64_t max_backlog)
      : tsc_hz_(tsc_hz), pps_(pps), max_burst_(max_burst), max_backlog_(std::max<std::uint64_t>(max_backlog, 1)) {}

  // Packets due by `elapsed` cycles after start: floor(elapsed * pps / hz).
  static std::uint64_t packets_by(std::uint64_t elapsed_cycles, std::uint64_t pps, std::uint64_t tsc_hz);
  // Cycles until `packets` are due: ceil(packets * hz / pps).
  static std::uint64_t cycles_for(std::uint64_t packets, std::uint64_t pps, std::uint64_t tsc_hz);

  void start(std::uint64_t now) {
    start_ = now;
    scheduled_ = 0;
  }
  // How many packets to send now (0..max_burst). Call sent() with what was sent.
  std::uint32_t due(std::uint64_t now);
  void sent(std::uint32_t packets) { scheduled_ += packets; }

  // Packets dropped from the schedule after stalls.
  [[nodiscard]] std::uint64_t skipped() const { return skipped_; }
  [[nodiscard]] bool unlimited() const { return pps_ == 0; }

 private:
  std::uint64_t tsc_hz_;
  std::uint64_t pps_;
  std::uint32_t max_burst_;
  std::uint64_t max_backlog_;
  std::uint64_t start_ = 0;
  std::uint64_t scheduled_ = 0;  // packets sent or skipped since start
  std::uint64_t skipped_ = 0;
};

}  // namespace ferry::bench::gen
