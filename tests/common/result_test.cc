#include "common/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace ferry {
namespace {

Result<int> parse_positive(int input) {
  if (input <= 0) {
    return make_error("{} is not positive", input);
  }
  return input;
}

TEST(Result, CarriesValue) {
  auto r = parse_positive(7);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 7);
  EXPECT_EQ(r.value_or(1), 7);
}

TEST(Result, CarriesError) {
  auto r = parse_positive(-2);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "-2 is not positive");
  EXPECT_EQ(r.value_or(1), 1);
}

TEST(Result, MoveOnlyValue) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(3);
  ASSERT_TRUE(r);
  std::unique_ptr<int> owned = std::move(r).value();
  EXPECT_EQ(*owned, 3);
}

TEST(Result, VoidResult) {
  Result<void> good = ok();
  EXPECT_TRUE(good);
  Result<void> bad = make_error("nope");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "nope");
}

TEST(Result, WrapAddsContext) {
  Error e = make_sys_error(ENOENT, "open {}", "/x");
  EXPECT_EQ(e.sys_errno, ENOENT);
  EXPECT_EQ(e.wrap("load config").message, "load config: open /x: No such file or directory");
}

}  // namespace
}  // namespace ferry
