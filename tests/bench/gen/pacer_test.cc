#include "bench/gen/pacer.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace ferry::bench::gen {
namespace {

constexpr std::uint64_t kHz = 2'000'000'000;  // a 2 GHz TSC

TEST(Pacer, Arithmetic) {
  EXPECT_EQ(Pacer::packets_by(kHz / 1000, 1'000'000, kHz), 1000U);  // 1 ms at 1 Mpps
  EXPECT_EQ(Pacer::packets_by(kHz - 1, 1, kHz), 0U);
  EXPECT_EQ(Pacer::packets_by(kHz, 1, kHz), 1U);
  // A day at 1 Gpps: the product overflows 64 bits, the answer does not.
  EXPECT_EQ(Pacer::packets_by(kHz * 86400, 1'000'000'000, kHz), 86'400'000'000'000ULL);
  EXPECT_EQ(Pacer::cycles_for(1000, 1'000'000, kHz), kHz / 1000);
  EXPECT_EQ(Pacer::cycles_for(1, 3, 10), 4U);  // rounds up
}

TEST(Pacer, ReleasesPacketsOnSchedule) {
  Pacer p(kHz, 1'000'000, 32, 128);  // one packet every 2000 cycles
  p.start(1000);
  EXPECT_EQ(p.due(1000), 0U);
  EXPECT_EQ(p.due(2999), 0U);
  EXPECT_EQ(p.due(3000), 1U);
  p.sent(1);
  EXPECT_EQ(p.due(3000), 0U);
  EXPECT_EQ(p.due(1000 + 10 * 2000), 9U);
}

TEST(Pacer, CapsBurstAndBacklog) {
  Pacer p(kHz, 1'000'000, 32, 100);
  p.start(0);
  EXPECT_EQ(p.due(1000 * 2000), 32U);  // 1000 due, burst cap
  EXPECT_EQ(p.skipped(), 900U);        // all but the backlog of 100 given up
  p.sent(32);
  EXPECT_EQ(p.due(1000 * 2000), 32U);
  p.sent(32);
  p.sent(32);
  EXPECT_EQ(p.due(1000 * 2000), 4U);
}

TEST(Pacer, UnlimitedAlwaysAllowsABurst) {
  Pacer p(kHz, 0, 32, 1);
  p.start(0);
  EXPECT_TRUE(p.unlimited());
  EXPECT_EQ(p.due(0), 32U);
}

TEST(Pacer, LongRunRateIsExact) {
  // Poll every 700 cycles for one simulated second at 1.234 Mpps.
  Pacer p(kHz, 1'234'000, 32, 1000);
  p.start(0);
  std::uint64_t sent = 0;
  for (std::uint64_t now = 0;; now = std::min(now + 700, kHz)) {
    const std::uint32_t n = p.due(now);
    p.sent(n);
    sent += n;
    if (now == kHz) break;
  }
  EXPECT_EQ(sent, 1'234'000U);
  EXPECT_EQ(p.skipped(), 0U);
}

}  // namespace
}  // namespace ferry::bench::gen
