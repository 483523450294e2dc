// LoopExecutor (work handed to the agent's loop thread) and HealthProbe (the
// non-blocking data-plane health call). No root, no data plane.
#include "control/agent/loop_executor.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <optional>
#include <thread>

#include "control/agent/health_probe.h"

namespace ferry::agent {
namespace {

using std::chrono::milliseconds;

// Waits for the eventfd and runs what is queued, like the agent's poll loop.
void loop_until(LoopExecutor& exec, const std::atomic<bool>& done) {
  while (!done.load()) {
    pollfd p{exec.fd(), POLLIN, 0};
    if (::poll(&p, 1, 10) > 0) exec.run_pending();
  }
}

TEST(LoopExecutor, RunsWorkOnTheLoopThreadAndReturnsItsResult) {
  auto exec = LoopExecutor::create();
  ASSERT_TRUE(exec) << exec.error().message;
  std::atomic<bool> done{false};
  std::thread::id ran_on;
  std::optional<Result<int>> r;
  std::optional<Result<void>> e;
  std::thread caller([&] {
    r.emplace((*exec)->call<int>("Test", milliseconds(5000), [&]() -> Result<int> {
      ran_on = std::this_thread::get_id();
      return 42;
    }));
    e.emplace((*exec)->call<void>("Fail", milliseconds(5000), []() -> Result<void> { return make_error("no"); }));
    done = true;
  });
  loop_until(**exec, done);
  caller.join();
  ASSERT_TRUE(*r);
  EXPECT_EQ(**r, 42);
  ASSERT_FALSE(*e);
  EXPECT_EQ(e->error().message, "no");
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(LoopExecutor, WorkNotTakenInTimeNeverRuns) {
  auto exec = LoopExecutor::create();
  ASSERT_TRUE(exec);
  bool ran = false;
  auto r = (*exec)->call<void>("Slow", milliseconds(20), [&]() -> Result<void> {
    ran = true;
    return ok();
  });
  ASSERT_FALSE(r);  // nobody ran the loop
  EXPECT_NE(r.error().message.find("nothing was changed"), std::string::npos) << r.error().message;
  EXPECT_EQ((*exec)->run_pending(), 0U);  // the abandoned work is dropped, not run late
  EXPECT_FALSE(ran);
}

TEST(LoopExecutor, WorkStartedInTimeIsWaitedFor) {
  auto exec = LoopExecutor::create();
  ASSERT_TRUE(exec);
  std::atomic<bool> done{false};
  std::thread caller([&] {
    // The work takes longer than the timeout, but it started: its real result comes back.
    auto r = (*exec)->call<int>("Long", milliseconds(30), []() -> Result<int> {
      std::this_thread::sleep_for(milliseconds(100));  // simulated slow work, not a wait for a condition
      return 7;
    });
    done = true;
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 7);
  });
  loop_until(**exec, done);
  caller.join();
}

TEST(LoopExecutor, CloseFailsWaitingAndLaterCalls) {
  auto exec = LoopExecutor::create();
  ASSERT_TRUE(exec);
  (*exec)->close();
  auto r = (*exec)->call<int>("Late", milliseconds(1000), []() -> Result<int> { return 1; });
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("shutting down"), std::string::npos);
}

TEST(HealthProbe, NeverBlocksAndTimesOutWithoutADataPlane) {
  HealthProbe probe("ipc:///tmp/ferry-no-such-dataplane-" + std::to_string(::getpid()), milliseconds(100));
  const auto t0 = std::chrono::steady_clock::now();
  probe.start(t0);
  EXPECT_TRUE(probe.in_flight());
  EXPECT_FALSE(probe.poll(t0 + milliseconds(50)));  // not yet: still waiting
  const auto spent = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(spent, milliseconds(50)) << "start()/poll() blocked";
  auto r = probe.poll(t0 + milliseconds(101));
  ASSERT_TRUE(r);
  ASSERT_FALSE(*r);
  EXPECT_NE(r->error().message.find("no health reply"), std::string::npos) << r->error().message;
  EXPECT_FALSE(probe.in_flight());
}

}  // namespace
}  // namespace ferry::agent
