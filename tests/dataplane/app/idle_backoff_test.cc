// The run loop's idle policy on a made-up clock: busy polling, the spin
// window after the last frame (with periodic yields), then growing sleeps.
#include "dataplane/app/idle_backoff.h"

#include <gtest/gtest.h>

namespace ferry::dataplane::app {
namespace {

using Step = IdleBackoff::Step;

TEST(IdleBackoff, BusyPollingNeverWaits) {
  IdleBackoff b(1000, 0);
  for (std::uint64_t t = 0; t < 100000; t += 7) {
    EXPECT_EQ(b.after_poll(0, t), Step::kPoll);
  }
  EXPECT_EQ(b.after_poll(3, 200000), Step::kPoll);
}

TEST(IdleBackoff, FramesKeepItPolling) {
  IdleBackoff b(1000, 100);
  for (std::uint64_t t = 0; t < 10000; ++t) {
    EXPECT_EQ(b.after_poll(1, t), Step::kPoll);
  }
}

TEST(IdleBackoff, NoSpinWindowSleepsAfterTheMinimumEmptyPolls) {
  IdleBackoff b(0, 100);
  b.after_poll(1, 0);
  for (std::uint32_t i = 1; i < IdleBackoff::kMinEmptyPolls; ++i) {
    EXPECT_EQ(b.after_poll(0, i), Step::kSpin) << i;
  }
  EXPECT_EQ(b.after_poll(0, 1000), Step::kSleep);
  EXPECT_EQ(b.sleep_us(), 1U);
}

// A worker that can wait on its sockets needs no minimum of empty polls:
// with no spin window it waits at the first empty poll.
TEST(IdleBackoff, WaitingWorkerSleepsAtOnceWithoutASpinWindow) {
  IdleBackoff b(0, 100);
  b.set_min_empty_polls(0);
  EXPECT_EQ(b.after_poll(1, 0), Step::kPoll);
  EXPECT_EQ(b.after_poll(0, 1), Step::kSleep);
  // The spin window still applies when there is one.
  IdleBackoff w(1000, 100);
  w.set_min_empty_polls(0);
  EXPECT_EQ(w.after_poll(1, 0), Step::kPoll);
  EXPECT_EQ(w.after_poll(0, 10), Step::kSpin);
  EXPECT_EQ(w.after_poll(0, 2000), Step::kSleep);
}

TEST(IdleBackoff, SpinsThroughTheWindowYieldingThenSleepsGrowing) {
  const std::uint64_t window = 1000000;  // ticks
  IdleBackoff b(window, 100);
  EXPECT_EQ(b.after_poll(5, 0), Step::kPoll);
  std::uint32_t yields = 0;
  std::uint32_t polls = 0;
  std::uint64_t t = 1;
  for (; t < window; t += 100, ++polls) {
    const Step s = b.after_poll(0, t);
    ASSERT_NE(s, Step::kSleep) << "at " << t;
    ASSERT_NE(s, Step::kPoll);
    if (s == Step::kYield) ++yields;
  }
  // Yields start after the minimum empty polls, one every kYieldEvery.
  EXPECT_GT(yields, 0U);
  EXPECT_LE(yields, polls / IdleBackoff::kYieldEvery);
  EXPECT_GE(yields, (polls - IdleBackoff::kMinEmptyPolls) / IdleBackoff::kYieldEvery - 1);
  // Past the window: 1, 2, 4 ... up to the bound, and it stays there.
  std::vector<std::uint32_t> sleeps;
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(b.after_poll(0, window + static_cast<std::uint64_t>(i)), Step::kSleep);
    sleeps.push_back(b.sleep_us());
  }
  EXPECT_EQ(sleeps, (std::vector<std::uint32_t>{1, 2, 4, 8, 16, 32, 64, 100, 100, 100}));
  // A frame starts a new window and resets the back-off.
  EXPECT_EQ(b.after_poll(1, 5 * window), Step::kPoll);
  for (std::uint32_t i = 1; i < 1000; ++i) {
    EXPECT_NE(b.after_poll(0, 5 * window + i), Step::kSleep);
  }
  EXPECT_EQ(b.after_poll(0, 6 * window + 1), Step::kSleep);
  EXPECT_EQ(b.sleep_us(), 1U);
}

TEST(IdleBackoff, NoFrameYetMeansNoWindow) {
  // At start (no frame seen) an idle worker goes to sleep after the minimum empty polls.
  IdleBackoff b(1000000, 100);
  for (std::uint32_t i = 1; i < IdleBackoff::kMinEmptyPolls; ++i) {
    EXPECT_EQ(b.after_poll(0, i), Step::kSpin);
  }
  EXPECT_EQ(b.after_poll(0, IdleBackoff::kMinEmptyPolls), Step::kSleep);
}

}  // namespace
}  // namespace ferry::dataplane::app
