#include "bench/gen/pacer.h"

namespace ferry::bench::gen {

namespace {
__extension__ using Uint128 = unsigned __int128;
}  // namespace

std::uint64_t Pacer::packets_by(std::uint64_t elapsed_cycles, std::uint64_t pps, std::uint64_t tsc_hz) {
  return static_cast<std::uint64_t>(static_cast<Uint128>(elapsed_cycles) * pps / tsc_hz);
}

std::uint64_t Pacer::cycles_for(std::uint64_t packets, std::uint64_t pps, std::uint64_t tsc_hz) {
  return static_cast<std::uint64_t>((static_cast<Uint128>(packets) * tsc_hz + pps - 1) / pps);
}

std::uint32_t Pacer::due(std::uint64_t now) {
  if (pps_ == 0) return max_burst_;
  const std::uint64_t target = packets_by(now > start_ ? now - start_ : 0, pps_, tsc_hz_);
  if (target <= scheduled_) return 0;
  std::uint64_t backlog = target - scheduled_;
  if (backlog > max_backlog_) {
    skipped_ += backlog - max_backlog_;
    scheduled_ = target - max_backlog_;
    backlog = max_backlog_;
  }
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(backlog, max_burst_));
}

}  // namespace ferry::bench::gen
