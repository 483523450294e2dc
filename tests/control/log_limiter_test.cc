// LogLimiter: one line per reason per interval, whatever the flood.
#include "control/gossip/log_limiter.h"

#include <gtest/gtest.h>

#include <vector>

namespace ferry::gossip {
namespace {

using namespace std::chrono_literals;

const TimePoint kT0 = TimePoint{} + 1h;
const Address kA{0x0a000001, 7946};
const Address kB{0x0a000002, 40000};

TEST(LogLimiter, FirstEventIsReportedAtOnce) {
  LogLimiter limiter(2, 10s);
  auto r = limiter.note(1, kA, kT0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, 1u);
  EXPECT_EQ(r->count, 1u);
  EXPECT_TRUE(r->first);
  EXPECT_EQ(r->last_source, kA);
  EXPECT_EQ(r->span, Duration{});
  EXPECT_EQ(limiter.next_flush(), kNever);  // nothing waits
}

TEST(LogLimiter, BurstBecomesTwoLinesWithTheCountAndLastSource) {
  LogLimiter limiter(1, 10s);
  size_t lines = 0;
  TimePoint t = kT0;
  for (int i = 0; i < 10'000; ++i) {
    if (limiter.note(0, i == 9'999 ? kB : kA, t)) ++lines;
    t += 100us;  // 10 000 events in one second
  }
  EXPECT_EQ(lines, 1u);
  EXPECT_EQ(limiter.next_flush(), kT0 + 10s);
  std::vector<LogLimiter::Report> out;
  limiter.flush(kT0 + 9s, out);
  EXPECT_TRUE(out.empty());  // not yet
  limiter.flush(kT0 + 10s, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].count, 9'999u);
  EXPECT_EQ(out[0].last_source, kB);
  EXPECT_FALSE(out[0].first);
  EXPECT_EQ(out[0].span, 10s);
  EXPECT_EQ(limiter.total(0), 10'000u);
  EXPECT_EQ(limiter.next_flush(), kNever);
  out.clear();
  limiter.flush(kT0 + 60s, out);
  EXPECT_TRUE(out.empty());
}

TEST(LogLimiter, SteadyFloodMakesOneLinePerIntervalAndLosesNoCount) {
  LogLimiter limiter(1, 10s);
  std::vector<LogLimiter::Report> lines;
  TimePoint t = kT0;
  TimePoint next_flush_call = kT0;
  for (int i = 0; i < 60'000; ++i) {  // one event per ms for 60 s
    if (auto r = limiter.note(0, kA, t)) lines.push_back(*r);
    if (t >= next_flush_call) {  // the owner's poll loop, every 100 ms
      limiter.flush(t, lines);
      next_flush_call = t + 100ms;
    }
    t += 1ms;
  }
  limiter.flush(t + 10s, lines);  // the flood stopped: the rest still comes out
  EXPECT_GE(lines.size(), 6u);
  EXPECT_LE(lines.size(), 8u);
  uint64_t sum = 0;
  for (const auto& r : lines) sum += r.count;
  EXPECT_EQ(sum, 60'000u);
  for (size_t i = 1; i < lines.size(); ++i) EXPECT_GE(lines[i].span, 10s) << i;
}

TEST(LogLimiter, ReasonsAreIndependent) {
  LogLimiter limiter(3, 10s);
  EXPECT_TRUE(limiter.note(0, kA, kT0));
  EXPECT_FALSE(limiter.note(0, kA, kT0 + 1s));
  EXPECT_TRUE(limiter.note(2, kB, kT0 + 1s));  // its own first line
  EXPECT_FALSE(limiter.note(2, kB, kT0 + 2s));
  std::vector<LogLimiter::Report> out;
  limiter.flush(kT0 + 10s, out);  // reason 0 due, reason 2 not yet
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].reason, 0u);
  EXPECT_EQ(limiter.next_flush(), kT0 + 11s);
  limiter.flush(kT0 + 11s, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].reason, 2u);
  EXPECT_EQ(out[1].count, 1u);
}

TEST(LogLimiter, QuietAgainAfterAnIntervalReportsAtOnce) {
  LogLimiter limiter(1, 10s);
  ASSERT_TRUE(limiter.note(0, kA, kT0));
  EXPECT_FALSE(limiter.note(0, kA, kT0 + 5s));  // within the interval: held
  auto r = limiter.note(0, kB, kT0 + 12s);      // no flush in between: both go out
  ASSERT_TRUE(r);
  EXPECT_EQ(r->count, 2u);
  EXPECT_FALSE(r->first);
  EXPECT_EQ(r->span, 12s);
  auto again = limiter.note(0, kA, kT0 + 30s);  // quiet for 18 s
  ASSERT_TRUE(again);
  EXPECT_EQ(again->count, 1u);
  EXPECT_TRUE(again->first);
}

}  // namespace
}  // namespace ferry::gossip
