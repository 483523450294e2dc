#include "dataplane/app/run_loop.h"

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <sched.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "common/log.h"
#include "dataplane/app/idle_backoff.h"

namespace ferry::dataplane::app {
namespace {

void bump(std::atomic<std::uint64_t>& counter) {
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// The longest an idle worker waits on its sockets: how soon it sees a stop
// request, a port added to its list or a frame the control thread queued.
constexpr int kWaitTimeoutMs = 10;

}  // namespace

// What an idle worker can wait on: every port it polls, when each is a
// kernel socket (the vnet endpoint port, the kernel-UDP uplink). Rebuilt
// when the worker's port list changes (before its quiescent state, while
// the ports are sure to be open); a DPDK ethdev among them leaves the worker
// sleeping by the clock.
class RunLoop::Waiter {
 public:
  ~Waiter() { close_set(); }
  Waiter() = default;
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  // True when the set covers `list` (and the uplink when `uplink` is set).
  bool sync(const PortTable& ports, const PortList* list, PortId uplink, bool with_uplink, std::uint16_t queue) {
    if (list->generation == synced_) return usable_;
    synced_ = list->generation;
    close_set();
    usable_ = false;
    std::vector<int> fds;
    if (with_uplink) fds.push_back(ports.io(uplink).fd(queue));
    for (std::uint16_t i = 0; i < list->count; ++i) fds.push_back(ports.io(list->ports[i]).fd(queue));
    if (std::find(fds.begin(), fds.end(), -1) != fds.end()) return false;
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) return false;
    for (int fd : fds) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close_set();
        return false;
      }
    }
    usable_ = true;
    return true;
  }
  // Until a socket is readable or the timeout.
  void wait() {
    epoll_event events[kMaxPorts];
    (void)epoll_wait(epfd_, events, kMaxPorts, kWaitTimeoutMs);
  }

 private:
  void close_set() {
    if (epfd_ >= 0) ::close(epfd_);
    epfd_ = -1;
  }
  int epfd_ = -1;
  std::uint64_t synced_ = ~std::uint64_t{0};  // the list generation the set was made for
  bool usable_ = false;
};

RunLoop::RunLoop(Pipeline& pipeline, PortTable& ports, Params params)
    : pipeline_(pipeline), ports_(ports), params_(params), endpoints_(new PortList{}) {}

RunLoop::~RunLoop() {
  stop();
  delete endpoints_.load();
}

Result<void> RunLoop::start(const std::vector<unsigned>& worker_lcores, rte_mempool* pool) {
  for (std::size_t i = 0; i < worker_lcores.size(); ++i) {
    auto worker = std::make_unique<Worker>();
    worker->loop = this;
    worker->lcore_id = worker_lcores[i];
    worker->queue = static_cast<std::uint16_t>(i);
    auto ctx = pipeline_.make_lcore(static_cast<std::uint32_t>(i), worker->queue, pool);
    if (!ctx) {
      return ctx.error().wrap(fmt::format("worker {} (lcore {})", i, worker_lcores[i]));
    }
    worker->ctx = std::move(*ctx);
    worker->ctx->set_tx(&PortTable::tx_burst, &ports_);
    workers_.push_back(std::move(worker));
  }
  for (auto& worker : workers_) {
    if (int rc = rte_eal_remote_launch(&RunLoop::worker_main, worker.get(), worker->lcore_id); rc != 0) {
      stop();
      return make_sys_error(-rc, "launch worker on lcore {}", worker->lcore_id);
    }
    launched_ = true;
  }
  return ok();
}

void RunLoop::set_endpoints(const std::vector<PortId>& ports) {
  auto* list = new PortList{};
  list->generation = ++generation_;
  for (PortId port : ports) {
    if (list->count < kMaxPorts) {
      list->ports[list->count++] = port;
    }
  }
  const PortList* old = endpoints_.exchange(list, std::memory_order_acq_rel);
  // Every worker reports to the tables' QSBR variable once per iteration; after
  // one grace period none can still hold `old` or be inside a burst of a port
  // it no longer lists.
  pipeline_.tables().synchronize();
  delete old;
}

void RunLoop::stop() {
  stop_.store(true, std::memory_order_relaxed);
  if (launched_) {
    for (auto& worker : workers_) {
      rte_eal_wait_lcore(worker->lcore_id);
    }
    launched_ = false;
  }
  for (auto& worker : workers_) {
    if (worker->ctx) {
      pipeline_.release_lcore(*worker->ctx);
      worker->ctx.reset();
    }
  }
}

std::vector<WorkerInfo> RunLoop::worker_info() const {
  std::vector<WorkerInfo> out;
  for (const auto& worker : workers_) {
    out.push_back(WorkerInfo{worker->lcore_id, worker->counters.polls.load(std::memory_order_relaxed),
                             worker->counters.busy_polls.load(std::memory_order_relaxed),
                             worker->counters.idle_sleeps.load(std::memory_order_relaxed),
                             worker->counters.spin_polls.load(std::memory_order_relaxed),
                             worker->counters.spin_yields.load(std::memory_order_relaxed)});
  }
  return out;
}

int RunLoop::worker_main(void* arg) {
  auto* worker = static_cast<Worker*>(arg);
  worker->loop->run(*worker);
  return 0;
}

void RunLoop::run(Worker& worker) {
  LcoreContext& ctx = *worker.ctx;
  const PortTable& ports = ports_;
  const PortId uplink = params_.uplink;
  const std::uint16_t queue = worker.queue;
  const bool polls_uplink = queue < params_.uplink_rx_queues;
  const bool drains_injected = queue == 0;
  IdleBackoff backoff(rte_get_tsc_hz() / 1000000 * params_.idle_spin_us, params_.idle_sleep_us);
  Waiter waiter;
  bool can_wait = false;
  rte_mbuf* pkts[kBurstSize];
  rte_mbuf* uplink_pkts[kUplinkBurstSize];

  spdlog::debug("worker {} running on lcore {}", queue, worker.lcore_id);
  while (!stop_.load(std::memory_order_relaxed)) {
    std::uint32_t received = 0;
    if (polls_uplink) {
      const std::uint16_t n = ports.rx_burst(uplink, queue, uplink_pkts, kUplinkBurstSize);
      if (n != 0) {
        pipeline_.process_uplink(ctx, uplink_pkts, n);
        received += n;
      }
    }
    const PortList* list = endpoints_.load(std::memory_order_acquire);
    if (const bool w = waiter.sync(ports, list, uplink, polls_uplink, queue); w != can_wait) {
      can_wait = w;
      backoff.set_min_empty_polls(can_wait ? 0 : IdleBackoff::kMinEmptyPolls);
    }
    for (std::uint16_t i = 0; i < list->count; ++i) {
      const PortId port = list->ports[i];
      const std::uint16_t n = ports.rx_burst(port, queue, pkts, kBurstSize);
      if (n != 0) {
        pipeline_.process_endpoint(ctx, port, pkts, n);
        received += n;
      }
    }
    if (drains_injected) {
      pipeline_.drain_injected(ctx);
    }
    ctx.quiescent();  // `list` is not used past this point
    bump(worker.counters.polls);

    if (received != 0) {
      bump(worker.counters.busy_polls);
    }
    switch (backoff.after_poll(received, rte_rdtsc())) {
      case IdleBackoff::Step::kPoll:
        break;
      case IdleBackoff::Step::kSpin:
        bump(worker.counters.spin_polls);
        rte_pause();
        break;
      case IdleBackoff::Step::kYield:
        bump(worker.counters.spin_polls);
        bump(worker.counters.spin_yields);
        sched_yield();  // a thread waiting for this CPU (the container we forward for) runs first
        break;
      case IdleBackoff::Step::kSleep:
        ctx.offline();
        if (can_wait) {
          waiter.wait();  // until a frame comes in
        } else {
          rte_delay_us_sleep(backoff.sleep_us());
        }
        ctx.online();
        bump(worker.counters.idle_sleeps);
        break;
    }
  }
  ctx.offline();
}

}  // namespace ferry::dataplane::app
