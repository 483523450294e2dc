// One suspicion's timer (control/gossip/suspicion.h): starts at max, moves
// to the confirmation-scaled timeout with each distinct confirmer, counts
// at most k of them and never moves into the past.
#include "control/gossip/suspicion.h"

#include <gtest/gtest.h>

#include "control/gossip/timing.h"

namespace ferry::gossip {
namespace {

using std::chrono::milliseconds;

const TimePoint kStart = TimePoint{} + std::chrono::seconds(100);

TEST(Suspicion, BoundsFollowTheConfig) {
  Config c;  // suspicion_mult 4, max mult 6, probe_interval 200 ms
  const Suspicion s(c, 100, 1, kStart);
  EXPECT_EQ(s.min(), milliseconds(1600));  // 4 * log10(100) * 200 ms
  EXPECT_EQ(s.max(), milliseconds(9600));
  EXPECT_EQ(s.k(), 2u);
  EXPECT_EQ(s.confirmations(), 0u);
  EXPECT_EQ(s.deadline(), kStart + s.max());
}

TEST(Suspicion, DistinctConfirmationsShortenIt) {
  const Config c;
  Suspicion s(c, 100, 1, kStart);
  const TimePoint now = kStart + milliseconds(10);
  EXPECT_FALSE(s.confirm(1, now));  // the first suspector again
  EXPECT_EQ(s.deadline(), kStart + s.max());
  ASSERT_TRUE(s.confirm(2, now));
  EXPECT_EQ(s.deadline(), kStart + suspicion_timeout(s.min(), s.max(), 1, 2));
  EXPECT_FALSE(s.confirm(2, now));  // counted once
  ASSERT_TRUE(s.confirm(3, now));
  EXPECT_EQ(s.confirmations(), 2u);
  EXPECT_EQ(s.deadline(), kStart + s.min());  // k reached
  EXPECT_FALSE(s.confirm(4, now));            // no more than k
  EXPECT_EQ(s.confirmations(), 2u);
}

TEST(Suspicion, NeverMovesIntoThePast) {
  const Config c;
  Suspicion s(c, 100, 1, kStart);
  const TimePoint late = kStart + milliseconds(5000);  // past the 2-confirmation timeout
  ASSERT_TRUE(s.confirm(2, late));
  ASSERT_TRUE(s.confirm(3, late));
  EXPECT_EQ(s.deadline(), late);
}

TEST(Suspicion, SmallMultiplierStartsAtMin) {
  Config c;
  c.suspicion_mult = 2;  // k = 0
  Suspicion s(c, 10, 1, kStart);
  EXPECT_EQ(s.k(), 0u);
  EXPECT_EQ(s.deadline(), kStart + s.min());
  EXPECT_FALSE(s.confirm(2, kStart));
  c.suspicion_mult = 1;  // k would be negative: 0
  EXPECT_EQ(Suspicion(c, 10, 1, kStart).k(), 0u);
}

}  // namespace
}  // namespace ferry::gossip
