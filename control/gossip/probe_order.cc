#include "control/gossip/probe_order.h"

#include <algorithm>
#include <utility>

namespace ferry::gossip {

void ProbeOrder::add(NameId id, Rng& rng) {
  order_.push_back(id);
  const size_t remaining = order_.size() - std::min(index_, order_.size());
  if (remaining > 1) {
    const size_t pos = index_ + rng.below(remaining);
    std::swap(order_[pos], order_.back());
  }
}

NameId ProbeOrder::next(const MemberList& members, Rng& rng) {
  const NameId self = members.self().name;
  for (int round = 0; round < 2; ++round) {
    while (index_ < order_.size()) {
      const NameId id = order_[index_++];
      const MemberList::Member* m = members.find(id);
      if (m != nullptr && id != self && m->up()) return id;
    }
    // End of a round: a fresh shuffled order of the current members.
    order_.clear();
    index_ = 0;
    for (size_t i = 1; i < members.size(); ++i) {
      if (members[i].up()) order_.push_back(members[i].name);
    }
    std::shuffle(order_.begin(), order_.end(), rng.engine());
  }
  return kNoName;
}

}  // namespace ferry::gossip
