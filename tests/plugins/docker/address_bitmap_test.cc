#include "plugins/docker/address_bitmap.h"

#include <gtest/gtest.h>

namespace ferry::plugins::docker {
namespace {

TEST(AddressBitmapTest, SetClearTest) {
  AddressBitmap bitmap(130);
  EXPECT_EQ(bitmap.size(), 130u);
  EXPECT_TRUE(bitmap.set(0));
  EXPECT_FALSE(bitmap.set(0));
  EXPECT_TRUE(bitmap.set(129));
  EXPECT_FALSE(bitmap.set(130));  // out of range
  EXPECT_TRUE(bitmap.test(129));
  EXPECT_EQ(bitmap.used(), 2u);
  EXPECT_TRUE(bitmap.clear(129));
  EXPECT_FALSE(bitmap.clear(129));
  EXPECT_FALSE(bitmap.clear(500));
  EXPECT_EQ(bitmap.used(), 1u);
}

TEST(AddressBitmapTest, NextFitWrapsAndSkipsUsed) {
  AddressBitmap bitmap(8);
  bitmap.set(0);
  bitmap.set(7);
  // Hands out 1..6 in order, then is full.
  for (std::uint64_t expected = 1; expected <= 6; ++expected) EXPECT_EQ(bitmap.allocate(0, 8), expected);
  EXPECT_FALSE(bitmap.allocate(0, 8));
  // A released address is not reused while others are free...
  bitmap.clear(2);
  bitmap.clear(5);
  EXPECT_EQ(bitmap.allocate(0, 8), 2u);  // wrapped: nothing free after 6
  EXPECT_EQ(bitmap.allocate(0, 8), 5u);
  bitmap.clear(3);
  bitmap.clear(4);
  EXPECT_EQ(bitmap.allocate(0, 8), 3u);  // search starts after 5 -> wraps -> 3
  EXPECT_EQ(bitmap.allocate(0, 8), 4u);
}

TEST(AddressBitmapTest, RangeLimitsAndWordBoundaries) {
  AddressBitmap bitmap(300);
  for (std::uint64_t i = 0; i < 300; ++i) {
    if (i != 63 && i != 64 && i != 255) bitmap.set(i);
  }
  EXPECT_EQ(bitmap.allocate(100, 200), std::nullopt);
  EXPECT_EQ(bitmap.allocate(0, 1000), 63u);  // end is clamped to the size
  EXPECT_EQ(bitmap.allocate(0, 300), 64u);
  EXPECT_EQ(bitmap.allocate(250, 256), 255u);
  EXPECT_EQ(bitmap.allocate(0, 300), std::nullopt);
  EXPECT_EQ(bitmap.allocate(5, 5), std::nullopt);
  EXPECT_EQ(bitmap.used(), 300u);
}

TEST(AddressBitmapTest, LargeBitmapFillsCompletely) {
  AddressBitmap bitmap(1 << 16);
  for (std::uint64_t i = 0; i < (1 << 16); ++i) ASSERT_EQ(bitmap.allocate(0, 1 << 16), i);
  EXPECT_FALSE(bitmap.allocate(0, 1 << 16));
}

}  // namespace
}  // namespace ferry::plugins::docker
