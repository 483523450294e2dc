// The member list (control/gossip/member_list.h): slot 0 is the node
// itself, lookups by name id, the up count and state-change times, and
// removal that keeps the index right when it moves the last member.
#include "control/gossip/member_list.h"

#include <gtest/gtest.h>

namespace ferry::gossip {
namespace {

using namespace std::chrono_literals;

const TimePoint kT0 = TimePoint{} + 10s;
const Address kA{0x0a000001, 7946};
const Address kB{0x0a000002, 7946};
const Address kC{0x0a000003, 7946};

TEST(MemberList, StartsWithSelfAlive) {
  MemberList l(3, kA, 99, kT0);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l.num_up(), 1u);
  EXPECT_EQ(l.self().name, 3u);
  EXPECT_EQ(l.self().incarnation, 1u);
  EXPECT_EQ(l.self().boot_id, 99u);
  EXPECT_EQ(l.self().state_change, kT0);
  EXPECT_EQ(l.find(3), &l.self());
  EXPECT_EQ(l.find(0), nullptr);
  EXPECT_EQ(l.find(1000), nullptr);
  EXPECT_FALSE(l.remove(3));  // never itself
  EXPECT_EQ(l.size(), 1u);
}

TEST(MemberList, CountsMembersUp) {
  MemberList l(0, kA, 1, kT0);
  MemberList::Member& b = l.add(1, kB, 5, 7, kT0 + 1s, 2);
  EXPECT_EQ(l.num_up(), 2u);
  EXPECT_EQ(b.state, MemberState::kAlive);
  EXPECT_EQ(b.incarnation, 5u);
  l.set_state(b, MemberState::kSuspect, kT0 + 2s);
  EXPECT_EQ(l.num_up(), 2u);  // suspect is still up
  EXPECT_EQ(b.state_change, kT0 + 2s);
  l.set_state(b, MemberState::kDead, kT0 + 3s);
  EXPECT_EQ(l.num_up(), 1u);
  l.set_state(b, MemberState::kDead, kT0 + 4s);  // no change: time kept
  EXPECT_EQ(b.state_change, kT0 + 3s);
  EXPECT_EQ(l.num_up(), 1u);
  l.set_state(b, MemberState::kLeft, kT0 + 5s);  // down to down
  EXPECT_EQ(l.num_up(), 1u);
  l.set_state(b, MemberState::kAlive, kT0 + 6s);
  EXPECT_EQ(l.num_up(), 2u);
}

TEST(MemberList, RemoveMovesTheLastMemberAndKeepsTheIndex) {
  MemberList l(0, kA, 1, kT0);
  l.add(1, kB, 1, 1, kT0, 3);
  l.add(2, kC, 1, 1, kT0, 3);
  l.set_state(*l.find(1), MemberState::kDead, kT0);
  ASSERT_TRUE(l.remove(1));
  EXPECT_FALSE(l.remove(1));
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l.num_up(), 2u);  // the dead one was not counted
  EXPECT_EQ(l.find(1), nullptr);
  ASSERT_NE(l.find(2), nullptr);
  EXPECT_EQ(l.find(2)->address, kC);
  EXPECT_EQ(&l[1], l.find(2));
  ASSERT_TRUE(l.remove(2));  // an up member
  EXPECT_EQ(l.num_up(), 1u);
  EXPECT_EQ(l.size(), 1u);
}

TEST(MemberList, IdsBeyondTheIndexGrowIt) {
  MemberList l(0, kA, 1, kT0);
  l.reserve(16, 4);
  l.add(500, kB, 1, 1, kT0, 10);
  ASSERT_NE(l.find(500), nullptr);
  EXPECT_EQ(l.find(499), nullptr);
  size_t seen = 0;
  for (const auto& m : l) seen += m.name == 500 ? 1 : 0;
  EXPECT_EQ(seen, 1u);
}

}  // namespace
}  // namespace ferry::gossip
