#include "control/gossip/member_list.h"

#include <algorithm>

namespace ferry::gossip {

MemberList::MemberList(NameId self, const Address& address, uint64_t boot_id, TimePoint now) {
  members_.push_back(Member{self, 1, address, MemberState::kAlive, boot_id, now});
  slot_by_name_.resize(self + 1, 0);
  slot_by_name_[self] = 1;
  num_up_ = 1;
}

MemberList::Member* MemberList::find(NameId id) {
  if (id >= slot_by_name_.size() || slot_by_name_[id] == 0) return nullptr;
  return &members_[slot_by_name_[id] - 1];
}

const MemberList::Member* MemberList::find(NameId id) const {
  if (id >= slot_by_name_.size() || slot_by_name_[id] == 0) return nullptr;
  return &members_[slot_by_name_[id] - 1];
}

MemberList::Member& MemberList::add(NameId id, const Address& address, uint32_t incarnation, uint64_t boot_id,
                                    TimePoint now, size_t names) {
  if (slot_by_name_.size() <= id) slot_by_name_.resize(std::max<size_t>(id + 1, names), 0);
  members_.push_back(Member{id, incarnation, address, MemberState::kAlive, boot_id, now});
  slot_by_name_[id] = static_cast<uint32_t>(members_.size());
  ++num_up_;
  return members_.back();
}

bool MemberList::remove(NameId id) {
  if (id >= slot_by_name_.size() || slot_by_name_[id] <= 1) return false;  // unknown, or self
  const uint32_t slot = slot_by_name_[id] - 1;
  if (members_[slot].up()) --num_up_;
  if (slot + 1 != members_.size()) {
    members_[slot] = members_.back();
    slot_by_name_[members_[slot].name] = slot + 1;
  }
  members_.pop_back();
  slot_by_name_[id] = 0;
  return true;
}

void MemberList::set_state(Member& m, MemberState s, TimePoint now) {
  const bool was_up = m.up();
  const bool is_up = s == MemberState::kAlive || s == MemberState::kSuspect;
  if (was_up && !is_up) --num_up_;
  if (!was_up && is_up) ++num_up_;
  if (m.state != s) m.state_change = now;
  m.state = s;
}

void MemberList::reserve(size_t members, size_t names) {
  members_.reserve(members);
  if (slot_by_name_.size() < names) slot_by_name_.resize(names, 0);
}

}  // namespace ferry::gossip
