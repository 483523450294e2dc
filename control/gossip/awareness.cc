#include "control/gossip/awareness.h"

#include <algorithm>

#include "control/gossip/timing.h"

namespace ferry::gossip {

void Awareness::apply(int delta) {
  score_ = static_cast<uint32_t>(std::clamp(static_cast<int>(score_) + delta, 0, max_));
}

Duration Awareness::scale(Duration d) const { return awareness_scale(d, score_); }

}  // namespace ferry::gossip
