// ProbeOrder: SWIM's round-robin probe target selection. Each round probes
// every member that is up once, in a fresh random order; a member that
// joins mid-round is swapped into a random not-yet-probed position, so it
// is probed within the round at an unpredictable time, in O(1).
#pragma once

#include <cstddef>
#include <vector>

#include "control/gossip/member_list.h"
#include "control/gossip/names.h"
#include "control/gossip/rng.h"

namespace ferry::gossip {

class ProbeOrder {
 public:
  // A member came (back) up.
  void add(NameId id, Rng& rng);
  // The next member to probe: up, not self; starts a new shuffled round
  // when this one is used up. kNoName when nobody else is up.
  NameId next(const MemberList& members, Rng& rng);
  void reserve(size_t members) { order_.reserve(members); }

 private:
  std::vector<NameId> order_;
  size_t index_ = 0;
};

}  // namespace ferry::gossip
