// Lifeguard's local health score (control/gossip/awareness.h): clamped to
// [0, max_multiplier - 1], scaling durations by score + 1.
#include "control/gossip/awareness.h"

#include <gtest/gtest.h>

namespace ferry::gossip {
namespace {

using std::chrono::milliseconds;

TEST(Awareness, ClampsToItsRange) {
  Awareness a(8);
  EXPECT_EQ(a.score(), 0u);
  a.apply(-1);  // already healthy
  EXPECT_EQ(a.score(), 0u);
  a.apply(3);
  EXPECT_EQ(a.score(), 3u);
  a.apply(100);
  EXPECT_EQ(a.score(), 7u);
  a.apply(-2);
  EXPECT_EQ(a.score(), 5u);
  a.apply(-100);
  EXPECT_EQ(a.score(), 0u);
}

TEST(Awareness, ScalesByScorePlusOne) {
  Awareness a(8);
  EXPECT_EQ(a.scale(milliseconds(200)), milliseconds(200));
  a.apply(2);
  EXPECT_EQ(a.scale(milliseconds(200)), milliseconds(600));
  a.apply(10);
  EXPECT_EQ(a.scale(milliseconds(100)), milliseconds(800));
}

TEST(Awareness, MultiplierOneDisablesIt) {
  Awareness a(1);
  a.apply(5);
  EXPECT_EQ(a.score(), 0u);
  EXPECT_EQ(a.scale(milliseconds(200)), milliseconds(200));
}

}  // namespace
}  // namespace ferry::gossip
