#include "control/gossip/timing.h"

#include <algorithm>
#include <cmath>

namespace ferry::gossip {

Duration suspicion_min_timeout(uint32_t suspicion_mult, size_t n, Duration probe_interval) {
  const double node_scale = std::max(1.0, std::log10(static_cast<double>(std::max<size_t>(n, 1))));
  // Whole milliseconds keep the value readable and platform-independent.
  const double ms = suspicion_mult * node_scale * std::chrono::duration<double, std::milli>(probe_interval).count();
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

Duration suspicion_timeout(Duration min, Duration max, uint32_t confirmations, uint32_t k) {
  if (k == 0 || max <= min) return min;
  const double frac = std::log(static_cast<double>(confirmations) + 1.0) / std::log(static_cast<double>(k) + 1.0);
  const double span = static_cast<double>((max - min).count());
  const auto raw = max - Duration(static_cast<int64_t>(frac * span));
  return std::max(raw, min);
}

uint32_t retransmit_limit(uint32_t retransmit_mult, size_t n) {
  const double scale = std::ceil(std::log10(static_cast<double>(n) + 1.0));
  return retransmit_mult * static_cast<uint32_t>(scale);
}

Duration awareness_scale(Duration d, uint32_t health_score) { return d * (static_cast<int64_t>(health_score) + 1); }

uint32_t push_pull_scale(size_t n) {
  constexpr size_t kThreshold = 32;
  if (n <= kThreshold) return 1;
  const double extra = std::ceil(std::log2(static_cast<double>(n)) - std::log2(static_cast<double>(kThreshold)));
  return static_cast<uint32_t>(extra) + 1;
}

}  // namespace ferry::gossip
