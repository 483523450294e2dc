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

Result<void> check_even(int input) {
  if (input % 2 != 0) {
    return make_error("{} is odd", input);
  }
  return ok();
}

// Both macros in one function returning a different Result type; `steps`
// records how far it got, so a test sees that an error stops it at once.
Result<std::string> describe(int a, int b, int& steps) {
  steps = 0;
  FERRY_TRY(first, parse_positive(a));
  ++steps;
  FERRY_TRY_VOID(check_even(first));
  ++steps;
  FERRY_TRY(second, parse_positive(b));
  ++steps;
  return std::to_string(first) + "/" + std::to_string(second);
}

TEST(Result, TryPassesValuesOn) {
  int steps = -1;
  auto r = describe(4, 5, steps);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "4/5");
  EXPECT_EQ(steps, 3);
}

TEST(Result, TryReturnsTheFirstError) {
  int steps = -1;
  auto r = describe(-1, 5, steps);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "-1 is not positive");
  EXPECT_EQ(steps, 0);

  r = describe(3, 5, steps);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "3 is odd");
  EXPECT_EQ(steps, 1);

  r = describe(2, 0, steps);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "0 is not positive");
  EXPECT_EQ(steps, 2);
}

TEST(Result, TryMovesMoveOnlyValues) {
  auto make = [](int v) -> Result<std::unique_ptr<int>> { return std::make_unique<int>(v); };
  auto take = [&](int v) -> Result<int> {
    FERRY_TRY(owned, make(v));
    return *owned + 1;
  };
  auto r = take(41);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 42);
}

}  // namespace
}  // namespace ferry
