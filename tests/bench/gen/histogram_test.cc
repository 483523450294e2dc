#include "bench/gen/histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace ferry::bench::gen {
namespace {

TEST(Histogram, BucketsTileTheRange) {
  EXPECT_EQ(Histogram::bucket_low(0), 0U);
  for (std::size_t i = 0; i + 1 < Histogram::kBuckets; ++i) {
    ASSERT_LE(Histogram::bucket_low(i), Histogram::bucket_high(i)) << i;
    ASSERT_EQ(Histogram::bucket_high(i) + 1, Histogram::bucket_low(i + 1)) << i;
  }
  EXPECT_EQ(Histogram::bucket_high(Histogram::kBuckets - 1), ~std::uint64_t{0});
  for (std::uint64_t v :
       {0ULL, 1ULL, 31ULL, 32ULL, 33ULL, 63ULL, 64ULL, 65ULL, 1000ULL, 123456789ULL, 1ULL << 40, ~0ULL}) {
    const std::size_t b = Histogram::bucket_of(v);
    EXPECT_LE(Histogram::bucket_low(b), v);
    EXPECT_GE(Histogram::bucket_high(b), v);
  }
}

TEST(Histogram, EmptyReportsZero) {
  Histogram h;
  EXPECT_EQ(h.percentile(50), 0U);
  EXPECT_EQ(h.min(), 0U);
  EXPECT_EQ(h.max(), 0U);
  EXPECT_EQ(h.count(), 0U);
}

struct Case {
  const char* name;
  std::vector<std::uint64_t> values;
  double q;
  std::uint64_t want;  // exact, or within 1/32 when relative is set
  bool relative;
};

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to, std::uint64_t scale = 1) {
  std::vector<std::uint64_t> v;
  for (std::uint64_t i = from; i <= to; ++i) v.push_back(i * scale);
  return v;
}

TEST(Histogram, PercentilesTable) {
  const std::vector<Case> cases = {
      {"small values are exact: p50 of 1..20", range(1, 20), 50, 10, false},
      {"p100 is the max", range(1, 20), 100, 20, false},
      {"p5 of 1..20", range(1, 20), 5, 1, false},
      {"one value", {12345}, 50, 12345, false},
      {"one value p99.9 clamps to max", {12345}, 99.9, 12345, false},
      {"uniform 1..1000 p50", range(1, 1000), 50, 500, true},
      {"uniform 1..1000 p99", range(1, 1000), 99, 990, true},
      {"uniform 1..1000 p99.9", range(1, 1000), 99.9, 999, true},
      {"large values p50", range(1, 1000, 1'000'000), 50, 500'000'000, true},
      {"outlier only in p99.9",
       [] {
         auto v = std::vector<std::uint64_t>(999, 100);
         v.push_back(1'000'000);
         return v;
       }(),
       99.9, 100, true},
      {"outlier shows at p100",
       [] {
         auto v = std::vector<std::uint64_t>(999, 100);
         v.push_back(1'000'000);
         return v;
       }(),
       100, 1'000'000, false},
  };
  for (const auto& c : cases) {
    Histogram h;
    for (std::uint64_t v : c.values) h.record(v);
    const std::uint64_t got = h.percentile(c.q);
    if (c.relative) {
      EXPECT_GE(got, c.want) << c.name;  // nearest rank rounded up to the bucket top
      EXPECT_LE(static_cast<double>(got), static_cast<double>(c.want) * (1.0 + 1.0 / 32)) << c.name;
    } else {
      EXPECT_EQ(got, c.want) << c.name;
    }
  }
}

TEST(Histogram, PercentilesAreOrdered) {
  Histogram h;
  std::uint64_t x = 88172645463325252ULL;  // xorshift: a fixed, spread-out sample
  for (int i = 0; i < 100000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    h.record(1000 + x % 5'000'000);
  }
  EXPECT_LE(h.min(), h.percentile(50));
  EXPECT_LE(h.percentile(50), h.percentile(99));
  EXPECT_LE(h.percentile(99), h.percentile(99.9));
  EXPECT_LE(h.percentile(99.9), h.max());
}

TEST(Histogram, MergeAddsCountsAndExtremes) {
  Histogram a;
  Histogram b;
  for (std::uint64_t v = 1; v <= 10; ++v) a.record(v);
  for (std::uint64_t v = 11; v <= 20; ++v) b.record(v);
  a.merge(b);
  EXPECT_EQ(a.count(), 20U);
  EXPECT_EQ(a.min(), 1U);
  EXPECT_EQ(a.max(), 20U);
  EXPECT_EQ(a.percentile(50), 10U);
  EXPECT_DOUBLE_EQ(a.mean(), 10.5);
}

}  // namespace
}  // namespace ferry::bench::gen
