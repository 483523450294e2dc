// The data-plane worker: the loop's calls return while the data plane is
// stalled (the link blocks inside a call), the work is done in order once
// it answers, and what the loop reads changes only when it collects.
#include "control/agent/dp_worker.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

namespace ferry::agent {
namespace {

namespace v1 = dp_api::v1;

// A data plane that answers every call, after `gate` opens for the first
// one: a stalled ferry-dataplane.
class StalledLink final : public DataplaneLink {
 public:
  Result<v1::Reply> call(v1::Request req) override {
    entered.store(true);
    gate.wait();
    ++*calls;
    v1::Reply r;
    r.set_status(v1::STATUS_OK);
    if (req.has_health_get()) r.mutable_health()->set_boot_id("boot-1");
    if (req.has_dump_get()) r.mutable_dump();
    return r;
  }
  std::shared_future<void> gate;
  std::atomic<bool> entered{false};
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
};

v1::Reply healthy() {
  v1::Reply r;
  r.set_status(v1::STATUS_OK);
  r.mutable_health()->set_boot_id("boot-1");
  r.mutable_health()->set_endpoint_driver("vnet");
  return r;
}

// Waits (at most 10 s) until the worker's fd is readable and collects.
bool collect_when_ready(DataplaneWorker& w) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{w.fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) == 1 && w.collect()) return true;
  }
  return false;
}

TEST(DataplaneWorker, TheLoopsCallsReturnWhileTheDataPlaneStalls) {
  std::promise<void> open;
  auto link = std::make_unique<StalledLink>();
  StalledLink* dp = link.get();
  dp->gate = open.get_future().share();
  auto worker = DataplaneWorker::create(std::move(link));
  ASSERT_TRUE(worker) << worker.error().message;
  DataplaneWorker& w = **worker;

  // A health reply makes the worker read the data plane's dump: it blocks
  // in the link. The loop's calls meanwhile all return.
  w.on_health(healthy());
  while (!dp->entered.load()) std::this_thread::yield();
  DpState want;
  want.networks = {100, 200};
  w.set_desired(want);
  w.run_known();
  w.set_hold_removals(true);
  w.audit();
  EXPECT_EQ(w.desired(), want);              // the loop's copy, at once
  EXPECT_TRUE(w.status().holding_removals);  // its own decision, at once
  EXPECT_FALSE(w.status().dataplane_up);     // nothing collected yet
  EXPECT_FALSE(w.collect());
  EXPECT_GT(w.queued(), 0U);

  open.set_value();  // the data plane answers
  bool up = false;
  for (int i = 0; i < 10 && !up; ++i) {
    ASSERT_TRUE(collect_when_ready(w));
    up = w.status().dataplane_up && w.applied() == want;
  }
  EXPECT_TRUE(up) << "networks applied: " << w.applied().networks.size();
  EXPECT_EQ(w.status().endpoint_driver, "vnet");
  EXPECT_EQ(w.status().resyncs, 1U);
  EXPECT_EQ(dp->calls->load(), 3);  // the dump and two network adds
}

}  // namespace
}  // namespace ferry::agent
