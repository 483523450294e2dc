// Suspicion: the timer of one suspected member (Lifeguard). It starts at the
// maximum timeout and shrinks towards the minimum with every distinct
// member that confirms the suspicion, reaching it after k confirmations
// (timing.h: suspicion_timeout). When it expires without a refutation, the
// member is declared dead. Pure state: the caller schedules deadline().
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "control/gossip/clock.h"
#include "control/gossip/config.h"
#include "control/gossip/names.h"

namespace ferry::gossip {

class Suspicion {
 public:
  // A suspicion raised now by `suspector` in a cluster of `num_alive`
  // members: min = suspicion_min_timeout(...), max = min *
  // suspicion_max_timeout_mult, k = suspicion_mult - 2 (at least 0).
  Suspicion(const Config& config, size_t num_alive, NameId suspector, TimePoint now);

  // Another member confirms. Returns whether it counted (false: it already
  // had, or k confirmations are in); when it did, deadline() moved earlier
  // (never before `now`).
  bool confirm(NameId from, TimePoint now);

  [[nodiscard]] TimePoint deadline() const { return deadline_; }
  [[nodiscard]] TimePoint start() const { return start_; }
  [[nodiscard]] Duration min() const { return min_; }
  [[nodiscard]] Duration max() const { return max_; }
  [[nodiscard]] uint32_t k() const { return k_; }
  // Confirmations counted, the first suspector not included.
  [[nodiscard]] uint32_t confirmations() const { return static_cast<uint32_t>(confirmers_.size() - 1); }

 private:
  TimePoint start_;
  Duration min_;
  Duration max_;
  uint32_t k_;
  std::vector<NameId> confirmers_;  // the first suspector, then distinct confirmations
  TimePoint deadline_;
};

}  // namespace ferry::gossip
