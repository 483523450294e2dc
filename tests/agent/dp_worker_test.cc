// The data-plane worker: the loop's calls return while the data plane is
// stalled (the link blocks inside a call), the work is done in order once
// it answers, and what the loop reads changes only when it collects; on
// exit it cancels a call the data plane never answers instead of waiting
// out its timeout.
#include "control/agent/dp_worker.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

// A data plane that never answers: a call waits until cancel() (or, should
// cancel() never come, until a 30 s timeout, so a failing test ends). What
// it saw outlives it (the worker owns and destroys the link).
class SilentLink final : public DataplaneLink {
 public:
  struct Seen {
    std::mutex mutex;
    std::condition_variable changed;
    bool entered = false;
    bool cancelled = false;
  };
  Result<v1::Reply> call(v1::Request /*req*/) override {
    std::unique_lock lock(seen->mutex);
    seen->entered = true;
    seen->changed.notify_all();
    if (!seen->changed.wait_for(lock, std::chrono::seconds(30), [this] { return seen->cancelled; })) {
      return make_error("no reply within 30 s");
    }
    return make_error("cancelled");
  }
  void cancel() override {
    std::lock_guard lock(seen->mutex);
    seen->cancelled = true;
    seen->changed.notify_all();
  }
  std::shared_ptr<Seen> seen = std::make_shared<Seen>();
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

TEST(DataplaneWorker, StopsWithoutWaitingForACallTheDataPlaneNeverAnswers) {
  auto link = std::make_unique<SilentLink>();
  const std::shared_ptr<SilentLink::Seen> seen = link->seen;
  auto worker = DataplaneWorker::create(std::move(link));
  ASSERT_TRUE(worker) << worker.error().message;
  (*worker)->on_health(healthy());  // the worker reads the dump: the call never returns by itself
  (*worker)->audit();               // queued behind it
  {
    std::unique_lock lock(seen->mutex);
    ASSERT_TRUE(seen->changed.wait_for(lock, std::chrono::seconds(10), [&] { return seen->entered; }));
  }
  // The agent's exit: the destructor cancels the call in hand, drops the
  // queue and joins.
  auto stopped = std::async(std::launch::async, [w = std::move(*worker)]() mutable { w.reset(); });
  EXPECT_EQ(stopped.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  stopped.wait();
  std::lock_guard lock(seen->mutex);
  EXPECT_TRUE(seen->cancelled);
}

// The real link: a call to a data plane that accepts and never answers
// (the test accepts and reads, never replies), with a 30 s timeout, ends
// at once when cancelled; so does every later call.
TEST(ZmqDataplaneLink, CancelEndsACallTheDataPlaneNeverAnswers) {
  const std::string path = "/tmp/ferry-dp-worker-test-" + std::to_string(::getpid()) + ".sock";
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());
  ASSERT_EQ(::bind(listener, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 16), 0);

  ZmqDataplaneLink link("ipc://" + path, std::chrono::seconds(30), "dp-worker-test");
  std::atomic<bool> calling{false};
  auto call = std::async(std::launch::async, [&] {
    v1::Request req;
    req.mutable_health_get();
    calling.store(true);
    return link.call(req);
  });
  // Cancel once the call's ZeroMQ connection has greeted us: the call waits
  // for the reply then.
  std::vector<int> accepted;
  bool greeted = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!greeted && std::chrono::steady_clock::now() < deadline) {
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, 100) != 1) continue;
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    accepted.push_back(fd);
    pollfd q{fd, POLLIN, 0};
    char greeting[64];
    greeted = ::poll(&q, 1, 1000) == 1 && ::recv(fd, greeting, sizeof greeting, 0) > 0;
  }
  EXPECT_TRUE(greeted && calling.load());
  link.cancel();
  ASSERT_EQ(call.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const Result<v1::Reply> reply = call.get();
  ASSERT_FALSE(reply);
  EXPECT_NE(reply.error().message.find("cancelled"), std::string::npos) << reply.error().message;
  v1::Request again;
  again.mutable_health_get();
  const Result<v1::Reply> later = link.call(again);
  ASSERT_FALSE(later);
  EXPECT_NE(later.error().message.find("cancelled"), std::string::npos) << later.error().message;
  for (int fd : accepted) ::close(fd);
  ::close(listener);
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace ferry::agent
