// The agent's event loop on a manual clock: timers run when the clock says
// they are due (never earlier), repeat without piling up after a stall, and
// can be cancelled; descriptors and poll sources are served each turn.
#include "control/agent/event_loop.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace ferry::agent {
namespace {

using std::chrono::milliseconds;

TEST(EventLoop, TimersRunWhenTheClockSaysSo) {
  gossip::ManualClock clock;
  EventLoop loop(clock);
  std::vector<std::string> ran;
  loop.at(clock.now() + milliseconds(50), [&] { ran.emplace_back("once"); });
  const auto every = loop.every(
      milliseconds(100), [&] { ran.emplace_back("every"); }, milliseconds(0));
  // Due now: the repeating timer's first run; the one-shot is not due yet.
  loop.run_once(gossip::kNever, milliseconds(0));
  EXPECT_EQ(ran, (std::vector<std::string>{"every"}));
  clock.advance(milliseconds(49));
  loop.run_once(gossip::kNever, milliseconds(0));
  EXPECT_EQ(ran.size(), 1U);
  clock.advance(milliseconds(1));
  loop.run_once(gossip::kNever, milliseconds(0));
  EXPECT_EQ(ran, (std::vector<std::string>{"every", "once"}));
  EXPECT_EQ(loop.next_deadline(), clock.now() + milliseconds(50));
  // A stall of 10 intervals runs the repeating timer once, not ten times.
  clock.advance(milliseconds(1000));
  loop.run_once(gossip::kNever, milliseconds(0));
  EXPECT_EQ(ran.size(), 3U);
  EXPECT_EQ(loop.next_deadline(), clock.now() + milliseconds(100));
  loop.cancel(every);
  clock.advance(milliseconds(1000));
  loop.run_once(gossip::kNever, milliseconds(0));
  EXPECT_EQ(ran.size(), 3U);
  EXPECT_EQ(loop.next_deadline(), gossip::kNever);
}

TEST(EventLoop, ReadableDescriptorsAndSourcesAreServed) {
  gossip::ManualClock clock;
  EventLoop loop(clock);
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  int reads = 0;
  loop.watch(p[0], [&] {
    char c = 0;
    ASSERT_EQ(::read(p[0], &c, 1), 1);
    ++reads;
    loop.unwatch(p[0]);  // a callback may unwatch itself
  });
  std::size_t collected = 0;
  std::size_t dispatched = 0;
  gossip::TimePoint source_deadline = gossip::kNever;
  loop.add_source({[&](std::vector<pollfd>& fds) {
                     fds.push_back({p[0], POLLIN, 0});
                     ++collected;
                   },
                   [&](std::span<const pollfd> fds) {
                     EXPECT_EQ(fds.size(), 1U);
                     ++dispatched;
                   },
                   [&] { return source_deadline; }});
  loop.run_once(gossip::kNever, milliseconds(0));
  EXPECT_EQ(reads, 0);
  EXPECT_EQ(dispatched, 1U);  // every turn, ready or not
  ASSERT_EQ(::write(p[1], "x", 1), 1);
  loop.run_once(gossip::kNever, milliseconds(1000));
  EXPECT_EQ(reads, 1);
  EXPECT_EQ(collected, 2U);
  source_deadline = clock.now() + milliseconds(7);
  EXPECT_EQ(loop.next_deadline(), source_deadline);
  ::close(p[0]);
  ::close(p[1]);
}

// A writable watch runs while the descriptor takes data and stays apart from
// the readable one: unwatching one leaves the other.
TEST(EventLoop, WritableDescriptorsAreServedApartFromReadableOnes) {
  gossip::ManualClock clock;
  EventLoop loop(clock);
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  int writable = 0;
  int readable = 0;
  loop.watch_writable(p[1], [&] { ++writable; });
  loop.watch(p[0], [&] {
    char c = 0;
    ASSERT_EQ(::read(p[0], &c, 1), 1);
    ++readable;
  });
  loop.run_once(gossip::kNever, milliseconds(1000));
  EXPECT_EQ(writable, 1);  // an empty pipe takes data
  EXPECT_EQ(readable, 0);
  loop.unwatch(p[1]);  // the readable watch of that fd (none): the writable one stays
  ASSERT_EQ(::write(p[1], "x", 1), 1);
  loop.run_once(gossip::kNever, milliseconds(1000));
  EXPECT_EQ(writable, 2);
  EXPECT_EQ(readable, 1);
  loop.unwatch_writable(p[1]);
  loop.run_once(gossip::kNever, milliseconds(0));
  EXPECT_EQ(writable, 2);
  ::close(p[0]);
  ::close(p[1]);
}

}  // namespace
}  // namespace ferry::agent
