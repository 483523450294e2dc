// Table tests for the pure protocol maths (control/gossip/timing.h).
#include "control/gossip/timing.h"

#include <gtest/gtest.h>

namespace ferry::gossip {
namespace {

using std::chrono::milliseconds;

TEST(Timing, SuspicionMinTimeout) {
  struct Case {
    uint32_t mult;
    size_t n;
    int64_t interval_ms;
    int64_t want_ms;
  };
  const Case cases[] = {
      {4, 1, 200, 800},                               // log10 clamps to 1 below 10 nodes
      {4, 5, 200, 800},                               //
      {4, 10, 200, 800},                              // log10(10) = 1
      {4, 100, 200, 1600},                            // 4 * 2 * 200
      {4, 1000, 200, 2400},                           // 4 * 3 * 200
      {4, 10000, 200, 3200}, {5, 1000, 1000, 15000},  // memberlist's LAN numbers: 5 * 3 * 1 s
      {1, 100, 500, 1000},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(suspicion_min_timeout(c.mult, c.n, milliseconds(c.interval_ms)), milliseconds(c.want_ms))
        << "mult " << c.mult << " n " << c.n;
  }
}

TEST(Timing, SuspicionTimeoutShrinksWithConfirmations) {
  const Duration min = milliseconds(2000), max = milliseconds(12000);
  struct Case {
    uint32_t confirmations;
    uint32_t k;
    int64_t want_ms;
  };
  const Case cases[] = {
      {0, 3, 12000},  // nobody confirmed: max
      {1, 3, 7000},   // 12000 - 10000 * log(2)/log(4) = 7000
      {2, 3, 4075},   // 12000 - 10000 * log(3)/log(4) = 4075.1
      {3, 3, 2000},   // k confirmations: min
      {7, 3, 2000},   // never below min
      {0, 0, 2000},   // k = 0: min at once
      {1, 1, 2000},
  };
  for (const auto& c : cases) {
    const auto got = std::chrono::duration_cast<milliseconds>(suspicion_timeout(min, max, c.confirmations, c.k));
    EXPECT_NEAR(static_cast<double>(got.count()), static_cast<double>(c.want_ms), 1.0)
        << "c " << c.confirmations << " k " << c.k;
  }
  // Monotonic: more confirmations never lengthen the timeout.
  for (uint32_t c = 0; c < 10; ++c) EXPECT_LE(suspicion_timeout(min, max, c + 1, 4), suspicion_timeout(min, max, c, 4));
  // Degenerate max <= min.
  EXPECT_EQ(suspicion_timeout(max, min, 0, 3), max);
}

TEST(Timing, RetransmitLimit) {
  struct Case {
    uint32_t mult;
    size_t n;
    uint32_t want;
  };
  const Case cases[] = {
      {4, 0, 0},    {4, 1, 4},    {4, 9, 4},     {4, 10, 8},     {4, 99, 8},
      {4, 100, 12}, {4, 999, 12}, {4, 1000, 16}, {4, 10000, 20}, {3, 1000, 12},
  };
  for (const auto& c : cases) EXPECT_EQ(retransmit_limit(c.mult, c.n), c.want) << "n " << c.n;
}

TEST(Timing, AwarenessScale) {
  EXPECT_EQ(awareness_scale(milliseconds(200), 0), milliseconds(200));
  EXPECT_EQ(awareness_scale(milliseconds(200), 1), milliseconds(400));
  EXPECT_EQ(awareness_scale(milliseconds(200), 7), milliseconds(1600));
}

TEST(Timing, PushPullScale) {
  struct Case {
    size_t n;
    uint32_t want;
  };
  const Case cases[] = {{0, 1}, {1, 1}, {32, 1}, {33, 2}, {64, 2}, {65, 3}, {1000, 6}, {10000, 10}};
  for (const auto& c : cases) EXPECT_EQ(push_pull_scale(c.n), c.want) << "n " << c.n;
}

}  // namespace
}  // namespace ferry::gossip
