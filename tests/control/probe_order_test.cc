// SWIM's probe order (control/gossip/probe_order.h): every member that is
// up is probed once per round, never the node itself nor a member that is
// down; a member added mid-round is probed within that round; the same seed
// gives the same order.
#include "control/gossip/probe_order.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <vector>

namespace ferry::gossip {
namespace {

const TimePoint kT0{};

MemberList list_of(size_t n) {
  MemberList l(0, Address{1, 1}, 1, kT0);
  for (NameId id = 1; id < n; ++id) l.add(id, Address{id + 1, 1}, 1, 1, kT0, n);
  return l;
}

TEST(ProbeOrder, EachMemberUpOncePerRound) {
  MemberList l = list_of(20);
  l.set_state(*l.find(5), MemberState::kDead, kT0);
  l.set_state(*l.find(6), MemberState::kLeft, kT0);
  l.set_state(*l.find(7), MemberState::kSuspect, kT0);
  ProbeOrder order;
  Rng rng(1);
  for (int round = 0; round < 3; ++round) {
    std::multiset<NameId> seen;
    for (int i = 0; i < 17; ++i) seen.insert(order.next(l, rng));
    EXPECT_EQ(seen.size(), 17u);
    EXPECT_EQ(std::set<NameId>(seen.begin(), seen.end()).size(), 17u) << "round " << round;
    EXPECT_FALSE(seen.contains(0));
    EXPECT_FALSE(seen.contains(5));
    EXPECT_FALSE(seen.contains(6));
    EXPECT_TRUE(seen.contains(7));  // suspect members are probed
  }
}

TEST(ProbeOrder, NobodyElseUp) {
  MemberList alone = list_of(1);
  ProbeOrder order;
  Rng rng(1);
  EXPECT_EQ(order.next(alone, rng), kNoName);
  MemberList l = list_of(3);
  l.set_state(*l.find(1), MemberState::kDead, kT0);
  l.set_state(*l.find(2), MemberState::kDead, kT0);
  EXPECT_EQ(order.next(l, rng), kNoName);
}

TEST(ProbeOrder, MemberDownMidRoundIsSkipped) {
  MemberList l = list_of(10);
  ProbeOrder order;
  Rng rng(2);
  const NameId first = order.next(l, rng);
  NameId victim = first == 4 ? 3 : 4;
  l.set_state(*l.find(victim), MemberState::kDead, kT0);
  for (int i = 0; i < 7; ++i) EXPECT_NE(order.next(l, rng), victim);
}

TEST(ProbeOrder, NewcomerIsProbedWithinTheRound) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    MemberList l = list_of(10);
    ProbeOrder order;
    Rng rng(seed);
    std::set<NameId> seen{order.next(l, rng)};  // starts round 1 (9 members)
    for (int i = 0; i < 3; ++i) seen.insert(order.next(l, rng));
    l.add(10, Address{11, 1}, 1, 1, kT0, 11);
    order.add(10, rng);
    for (int i = 0; i < 6; ++i) seen.insert(order.next(l, rng));  // the rest of the round
    EXPECT_EQ(seen.size(), 10u) << "seed " << seed;
    EXPECT_TRUE(seen.contains(10)) << "seed " << seed;
  }
}

TEST(ProbeOrder, SameSeedSameOrder) {
  MemberList l = list_of(30);
  auto run = [&l](uint64_t seed) {
    ProbeOrder order;
    Rng rng(seed);
    std::vector<NameId> out;
    out.reserve(60);
    for (int i = 0; i < 60; ++i) out.push_back(order.next(l, rng));
    return out;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

}  // namespace
}  // namespace ferry::gossip
