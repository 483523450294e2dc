// MemberList: every member one node knows, itself first, in a dense vector
// indexed by slot (random picks are O(1)) with an index from interned name
// to slot. Keeps the count of members that are up (alive or suspect) and
// when each member last changed state. Removal moves the last member into
// the freed slot, so slots are not stable across remove().
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "control/gossip/address.h"
#include "control/gossip/clock.h"
#include "control/gossip/member.h"
#include "control/gossip/names.h"

namespace ferry::gossip {

class MemberList {
 public:
  struct Member {
    NameId name;
    uint32_t incarnation;
    Address address;
    MemberState state;
    uint64_t boot_id;
    TimePoint state_change;

    [[nodiscard]] bool up() const { return state == MemberState::kAlive || state == MemberState::kSuspect; }
  };

  // Slot 0 is `self`, alive at incarnation 1.
  MemberList(NameId self, const Address& address, uint64_t boot_id, TimePoint now);

  [[nodiscard]] Member* find(NameId id);
  [[nodiscard]] const Member* find(NameId id) const;
  // Adds an alive member (the caller checked it is unknown). `names` sizes
  // the index for every name interned so far.
  Member& add(NameId id, const Address& address, uint32_t incarnation, uint64_t boot_id, TimePoint now, size_t names);
  // Forgets a member; returns false for self (never removed).
  bool remove(NameId id);
  // Changes state, keeping the up count and state_change (stamped `now`
  // only when the state differs).
  void set_state(Member& m, MemberState s, TimePoint now);

  [[nodiscard]] Member& self() { return members_[0]; }
  [[nodiscard]] const Member& self() const { return members_[0]; }
  [[nodiscard]] Member& operator[](size_t slot) { return members_[slot]; }
  [[nodiscard]] const Member& operator[](size_t slot) const { return members_[slot]; }
  [[nodiscard]] size_t size() const { return members_.size(); }
  // Members alive or suspect, self included.
  [[nodiscard]] size_t num_up() const { return num_up_; }
  [[nodiscard]] std::vector<Member>::const_iterator begin() const { return members_.begin(); }
  [[nodiscard]] std::vector<Member>::const_iterator end() const { return members_.end(); }

  void reserve(size_t members, size_t names);

 private:
  std::vector<Member> members_;         // [0] is this node
  std::vector<uint32_t> slot_by_name_;  // NameId -> index in members_ + 1 (0: unknown)
  size_t num_up_ = 0;
};

}  // namespace ferry::gossip
