#include "tests/harness/command.h"

#include <gtest/gtest.h>

#include <atomic>

namespace ferry::harness {
namespace {

TEST(RunCommand, CapturesOutputAndExitCode) {
  auto r = run_command({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
  EXPECT_NE(r->output.find("out"), std::string::npos);
  EXPECT_NE(r->output.find("err"), std::string::npos);
}

TEST(RunCommand, KillsTheProcessGroupAtTheDeadline) {
  const auto start = std::chrono::steady_clock::now();
  // The background sleep holds the pipe too: it must die with the group.
  auto r = run_command({"/bin/sh", "-c", "sleep 30 & sleep 30"}, std::chrono::milliseconds(200));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(RunCommand, MissingProgramExits127) {
  auto r = run_command({"/nonexistent/program"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->exit_code, 127);
}

TEST(WaitUntil, ReturnsWhenTheConditionHoldsOrAtTheDeadline) {
  int calls = 0;
  EXPECT_TRUE(wait_until([&] { return ++calls == 3; }, std::chrono::seconds(5), std::chrono::milliseconds(1)));
  EXPECT_EQ(calls, 3);
  EXPECT_FALSE(wait_until([] { return false; }, std::chrono::milliseconds(30), std::chrono::milliseconds(5)));
}

TEST(JoinArgv, QuotesArgumentsWithSpaces) { EXPECT_EQ(join_argv({"ip", "a b", "c"}), "ip 'a b' c"); }

}  // namespace
}  // namespace ferry::harness
