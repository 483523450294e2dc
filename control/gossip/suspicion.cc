#include "control/gossip/suspicion.h"

#include <algorithm>

#include "control/gossip/timing.h"

namespace ferry::gossip {

Suspicion::Suspicion(const Config& config, size_t num_alive, NameId suspector, TimePoint now)
    : start_(now),
      min_(suspicion_min_timeout(config.suspicion_mult, num_alive, Duration(config.probe_interval))),
      max_(min_ * config.suspicion_max_timeout_mult),
      k_(config.suspicion_mult >= 2 ? config.suspicion_mult - 2 : 0),
      confirmers_{suspector},
      deadline_(now + (k_ == 0 ? min_ : max_)) {}

bool Suspicion::confirm(NameId from, TimePoint now) {
  if (confirmers_.size() > k_ || std::find(confirmers_.begin(), confirmers_.end(), from) != confirmers_.end()) {
    return false;
  }
  confirmers_.push_back(from);
  deadline_ = std::max(start_ + suspicion_timeout(min_, max_, confirmations(), k_), now);
  return true;
}

}  // namespace ferry::gossip
