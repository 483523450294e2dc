// LoopExecutor (work handed to the agent's loop thread) and DpProbe (the
// non-blocking data-plane call). No root, no data plane.
#include "control/agent/loop_executor.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <zmq.h>

#include <atomic>
#include <optional>
#include <thread>

#include "control/agent/dp_probe.h"

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

TEST(DpProbe, NeverBlocksAndTimesOutWithoutADataPlane) {
  DpProbe probe("ipc:///tmp/ferry-no-such-dataplane-" + std::to_string(::getpid()), milliseconds(100));
  const auto t0 = std::chrono::steady_clock::now();
  dp_api::v1::Request health;
  health.mutable_health_get();
  probe.start(health, t0);
  EXPECT_TRUE(probe.in_flight());
  EXPECT_FALSE(probe.poll(t0 + milliseconds(50)));  // not yet: still waiting
  const auto spent = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(spent, milliseconds(50)) << "start()/poll() blocked";
  auto r = probe.poll(t0 + milliseconds(101));
  ASSERT_TRUE(r);
  ASSERT_FALSE(*r);
  EXPECT_NE(r->error().message.find("no reply"), std::string::npos) << r->error().message;
  EXPECT_FALSE(probe.in_flight());
}

TEST(DpProbe, DeliversTheReplyToItsRequest) {
  // A stand-in server on a REP socket: answers one stats request.
  const std::string endpoint = "ipc:///tmp/ferry-probe-test-" + std::to_string(::getpid());
  void* ctx = zmq_ctx_new();
  void* rep = zmq_socket(ctx, ZMQ_REP);
  ASSERT_EQ(zmq_bind(rep, endpoint.c_str()), 0);
  std::thread server([rep] {
    char buf[256];
    const int n = zmq_recv(rep, buf, sizeof buf, 0);
    dp_api::v1::Request req;
    dp_api::v1::Reply reply;
    if (n > 0 && req.ParseFromArray(buf, n) && req.has_stats_get() && req.api_version() == dp_api::kApiVersion) {
      reply.set_status(dp_api::v1::STATUS_OK);
      (*reply.mutable_stats()->mutable_counters())["probe_test"] = 7;
    } else {
      reply.set_status(dp_api::v1::STATUS_MALFORMED);
    }
    const std::string out = reply.SerializeAsString();
    zmq_send(rep, out.data(), out.size(), 0);
  });
  DpProbe probe(endpoint, milliseconds(2000));
  dp_api::v1::Request stats;
  stats.mutable_stats_get();
  probe.start(stats, std::chrono::steady_clock::now());
  std::optional<Result<dp_api::v1::Reply>> r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!r && std::chrono::steady_clock::now() < deadline) {
    r = probe.poll(std::chrono::steady_clock::now());
    if (!r) std::this_thread::sleep_for(milliseconds(1));
  }
  server.join();
  zmq_close(rep);
  zmq_ctx_term(ctx);
  ASSERT_TRUE(r);
  ASSERT_TRUE(*r) << r->error().message;
  EXPECT_EQ((*r)->status(), dp_api::v1::STATUS_OK);
  EXPECT_EQ((*r)->stats().counters().at("probe_test"), 7U);
  EXPECT_FALSE(probe.in_flight());
}

}  // namespace
}  // namespace ferry::agent
