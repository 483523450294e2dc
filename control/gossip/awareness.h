// Awareness: Lifeguard's local health score. A node that misses its own
// acks, has to refute suspicions of itself or sees its timers fire late is
// probably the slow one: it scales its probe interval and timeouts by
// (score + 1) instead of accusing others. Pure state, no clock.
#pragma once

#include <cstdint>

#include "control/gossip/clock.h"

namespace ferry::gossip {

class Awareness {
 public:
  // Scores stay in [0, max_multiplier - 1] (Config::awareness_max_multiplier).
  explicit Awareness(uint32_t max_multiplier) : max_(static_cast<int>(max_multiplier) - 1) {}

  // Adds `delta` (negative: healthier), clamped to the range.
  void apply(int delta);
  [[nodiscard]] uint32_t score() const { return score_; }
  // d * (score + 1) (timing.h: awareness_scale).
  [[nodiscard]] Duration scale(Duration d) const;

 private:
  int max_;
  uint32_t score_ = 0;
};

}  // namespace ferry::gossip
