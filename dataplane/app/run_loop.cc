#include "dataplane/app/run_loop.h"

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <sched.h>

#include "common/log.h"
#include "dataplane/app/idle_backoff.h"

namespace ferry::dataplane::app {
namespace {

void bump(std::atomic<std::uint64_t>& counter) {
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

}  // namespace

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
        rte_delay_us_sleep(backoff.sleep_us());
        ctx.online();
        bump(worker.counters.idle_sleeps);
        break;
    }
  }
  ctx.offline();
}

}  // namespace ferry::dataplane::app
