// PartitionWatch: episodes of many members unreachable together, from the
// node's own state changes.
#include "control/gossip/partition_watch.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace ferry::gossip {
namespace {

using namespace std::chrono_literals;
using Kind = PartitionWatch::Event::Kind;
constexpr auto kAlive = MemberState::kAlive;
constexpr auto kSuspect = MemberState::kSuspect;
constexpr auto kDead = MemberState::kDead;
constexpr auto kLeft = MemberState::kLeft;

const TimePoint kT0 = TimePoint{} + 1h;

// A watch that knows members 1..n, all alive.
PartitionWatch with_members(NameId n) {
  PartitionWatch w;
  for (NameId id = 1; id <= n; ++id) EXPECT_FALSE(w.on_change(id, std::nullopt, kAlive, kT0));
  return w;
}

TEST(PartitionWatch, Threshold) {
  struct Row {
    size_t others, threshold;
  };
  for (const Row& r : {Row{0, 2}, Row{1, 2}, Row{2, 2}, Row{20, 2}, Row{21, 3}, Row{100, 10}, Row{999, 100}}) {
    EXPECT_EQ(PartitionWatch::threshold(r.others), r.threshold) << r.others;
  }
}

TEST(PartitionWatch, IsolatedHostOfThreeSeesAnEpisodeAndItsEnd) {
  PartitionWatch w = with_members(2);
  EXPECT_FALSE(w.on_change(1, kAlive, kSuspect, kT0));
  auto started = w.on_change(2, kAlive, kSuspect, kT0 + 200ms);
  ASSERT_TRUE(started);
  EXPECT_EQ(started->kind, Kind::kStarted);
  EXPECT_EQ(started->unreachable, 2u);
  EXPECT_EQ(started->others, 2u);
  EXPECT_TRUE(w.active());
  EXPECT_FALSE(w.on_change(1, kSuspect, kDead, kT0 + 5s));  // dead stays in
  EXPECT_FALSE(w.on_change(2, kSuspect, kDead, kT0 + 5s));
  auto over = w.on_change(1, kDead, kAlive, kT0 + 30s);
  ASSERT_TRUE(over);
  EXPECT_EQ(over->kind, Kind::kOver);
  EXPECT_EQ(over->back, 1u);
  EXPECT_EQ(over->unreachable, 1u);
  EXPECT_EQ(over->gone, 0u);
  EXPECT_EQ(over->lasted, 29800ms);
  EXPECT_FALSE(w.active());
  EXPECT_FALSE(w.on_change(2, kDead, kAlive, kT0 + 31s));  // no second "over"
}

TEST(PartitionWatch, OneHostFailingIsNotAnEpisode) {
  PartitionWatch w = with_members(10);
  EXPECT_FALSE(w.on_change(4, kAlive, kSuspect, kT0));
  EXPECT_FALSE(w.on_change(4, kSuspect, kDead, kT0 + 5s));
  EXPECT_FALSE(w.on_change(4, kDead, std::nullopt, kT0 + 30min));
  EXPECT_EQ(w.others(), 9u);
  EXPECT_FALSE(w.active());
}

TEST(PartitionWatch, FlappingMemberDoesNotEndAnEpisodeEarly) {
  PartitionWatch w = with_members(30);  // threshold 3
  EXPECT_FALSE(w.on_change(1, kAlive, kSuspect, kT0));
  EXPECT_FALSE(w.on_change(2, kAlive, kSuspect, kT0));
  ASSERT_TRUE(w.on_change(3, kAlive, kSuspect, kT0));
  EXPECT_FALSE(w.on_change(4, kAlive, kSuspect, kT0 + 1s));  // joins the episode
  EXPECT_FALSE(w.on_change(1, kSuspect, kAlive, kT0 + 2s));  // 3 left: 3 * 2 > 3
  EXPECT_FALSE(w.on_change(1, kAlive, kSuspect, kT0 + 3s));  // back in
  EXPECT_FALSE(w.on_change(1, kSuspect, kAlive, kT0 + 4s));
  EXPECT_FALSE(w.on_change(2, kSuspect, kAlive, kT0 + 5s));  // 2 left
  auto over = w.on_change(3, kSuspect, kAlive, kT0 + 6s);    // 1 left
  ASSERT_TRUE(over);
  EXPECT_EQ(over->back, 4u);  // 1 counted twice: it came back twice
  const auto still = w.unreachable();
  EXPECT_TRUE(still.empty());   // cleared once over
  EXPECT_EQ(w.suspects(), 1u);  // member 4
}

TEST(PartitionWatch, ForgottenAndLeftMembersAreGone) {
  PartitionWatch w = with_members(3);
  EXPECT_FALSE(w.on_change(1, kAlive, kSuspect, kT0));
  ASSERT_TRUE(w.on_change(2, kAlive, kSuspect, kT0));
  EXPECT_FALSE(w.on_change(3, kAlive, kSuspect, kT0));
  auto v = w.unreachable();
  std::sort(v.begin(), v.end());
  EXPECT_EQ(v, (std::vector<NameId>{1, 2, 3}));
  EXPECT_FALSE(w.on_change(1, kSuspect, kLeft, kT0 + 1s));
  EXPECT_EQ(w.others(), 2u);  // left members do not count
  auto over = w.on_change(2, kSuspect, std::nullopt, kT0 + 2s);
  ASSERT_TRUE(over);
  EXPECT_EQ(over->gone, 2u);
  EXPECT_EQ(over->back, 0u);
  EXPECT_EQ(over->unreachable, 1u);
  EXPECT_EQ(over->others, 1u);
}

}  // namespace
}  // namespace ferry::gossip
