#include "control/gossip/broadcast_queue.h"

#include <gtest/gtest.h>

namespace ferry::gossip {
namespace {

std::vector<std::string> take(BroadcastQueue& q, size_t budget, uint32_t limit, size_t overhead = 0) {
  std::vector<std::string> out;
  q.get(overhead, budget, limit, out);
  return out;
}

TEST(BroadcastQueue, SendsEachItemUpToTheLimit) {
  BroadcastQueue q;
  q.queue("a", "AAAA");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(take(q, 100, 3), std::vector<std::string>{"AAAA"}) << i;
  EXPECT_TRUE(take(q, 100, 3).empty());
  EXPECT_TRUE(q.empty());
}

TEST(BroadcastQueue, NewerItemWithSameKeySupersedes) {
  BroadcastQueue q;
  q.queue("node-1", "suspect");
  q.queue("node-1", "alive");
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(take(q, 100, 5), std::vector<std::string>{"alive"});
}

TEST(BroadcastQueue, FewestTransmitsFirstNewestFirst) {
  BroadcastQueue q;
  q.queue("a", "a");
  EXPECT_EQ(take(q, 1, 10), std::vector<std::string>{"a"});  // a: 1 transmit
  q.queue("b", "b");
  q.queue("c", "c");
  // b and c (0 transmits) before a; newer c before b.
  EXPECT_EQ(take(q, 2, 10), (std::vector<std::string>{"c", "b"}));
  EXPECT_EQ(take(q, 1, 10), std::vector<std::string>{"a"});
}

TEST(BroadcastQueue, RespectsBudgetWithOverhead) {
  BroadcastQueue q;
  q.queue("a", std::string(10, 'a'));
  q.queue("b", std::string(10, 'b'));
  q.queue("c", std::string(10, 'c'));
  auto got = take(q, 25, 10, 2);  // 12 bytes each: two fit
  EXPECT_EQ(got.size(), 2u);
  got = take(q, 11, 10, 2);  // nothing fits
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(q.size(), 3u);
}

TEST(BroadcastQueue, NoDuplicatesInOnePacket) {
  BroadcastQueue q;
  q.queue("", "x");
  q.queue("", "y");
  auto got = take(q, 1000, 10);
  EXPECT_EQ(got.size(), 2u);
}

TEST(BroadcastQueue, UnkeyedItemsNeverInvalidate) {
  BroadcastQueue q;
  q.queue("", "1");
  q.queue("", "2");
  EXPECT_EQ(q.size(), 2u);
  q.clear();
  EXPECT_TRUE(q.empty());
}

TEST(BroadcastQueue, LowerLimitDropsOverSentItems) {
  BroadcastQueue q;
  q.queue("a", "a");
  for (int i = 0; i < 4; ++i) take(q, 10, 10);
  EXPECT_TRUE(take(q, 10, 3).empty());  // the cluster shrank: limit 3 < 4 sent
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace ferry::gossip
