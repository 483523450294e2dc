#include "common/log.h"
#include "common/printable.h"

#include <gtest/gtest.h>

namespace ferry::log {
namespace {

TEST(Log, ParsesLevels) {
  EXPECT_EQ(*parse_level("debug"), spdlog::level::debug);
  EXPECT_EQ(*parse_level("warn"), spdlog::level::warn);
  auto bad = parse_level("loud");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("loud"), std::string::npos);
}

TEST(Log, InitTwiceIsFine) {
  EXPECT_TRUE(init("ferry-test", "info"));
  EXPECT_TRUE(init("ferry-test", "debug"));
  EXPECT_FALSE(init("ferry-test", "bogus"));
}

TEST(Log, PrintableEscapesAndBounds) {
  EXPECT_EQ(printable("veth0"), "veth0");
  EXPECT_EQ(printable(std::string_view("a\nb\x1b[2J\\\xff", 9)), "a\\x0ab\\x1b[2J\\x5c\\xff");
  const std::string huge(10 << 20, 'x');
  const std::string shown = printable(huge, 64);
  EXPECT_LT(shown.size(), 100U);
  EXPECT_EQ(shown, std::string(64, 'x') + "... (10485696 more bytes)");
}

TEST(RateLimiter, BurstThenRefill) {
  using namespace std::chrono_literals;
  RateLimiter limiter(/*per_second=*/2.0, /*burst=*/3.0);
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  EXPECT_TRUE(limiter.allow(t0));
  EXPECT_TRUE(limiter.allow(t0));
  EXPECT_TRUE(limiter.allow(t0));
  EXPECT_FALSE(limiter.allow(t0));
  EXPECT_EQ(limiter.suppressed(), 1U);
  EXPECT_TRUE(limiter.allow(t0 + 500ms));  // one token back after 0.5 s at 2/s
  EXPECT_FALSE(limiter.allow(t0 + 500ms));
  EXPECT_EQ(limiter.suppressed(), 2U);
}

}  // namespace
}  // namespace ferry::log
