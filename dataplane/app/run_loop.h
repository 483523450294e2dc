// The worker lcores' run loop and the endpoint port list they poll.
//
// Each worker w, run to completion: receive a burst (64) from uplink RX queue
// w and from RX queue w of every endpoint port, hand it to the pipeline
// (which transmits on TX queue w before returning), worker 0 also sends the
// control thread's frames, report an RCU quiescent state; when nothing comes
// in, keep polling for --idle-spin-us after the last frame (IdleBackoff),
// then sleep with exponential back-off up to --idle-sleep-us, offline for
// RCU so it never holds up a grace period while asleep. A worker whose ports
// are all kernel sockets (vnet endpoints, the kernel-UDP uplink) instead
// waits on them (epoll, at most 10 ms) right after the spin window, with no
// minimum of empty polls: it wakes when a frame arrives and leaves the CPU
// to the containers meanwhile (control-thread frames queued for worker 0
// wait up to those 10 ms; with a kernel-UDP uplink the kernel does ARP and
// there are none).
//
// Ports are Ferry PortIds of a PortTable (port.h), of any port type: the
// worker receives through PortTable::rx_burst and the pipeline transmits
// through PortTable::tx_burst.
//
// The endpoint list is an immutable array published by pointer; the control
// thread swaps it and waits one grace period (the tables' QSBR variable,
// which every worker reports to) before freeing the old one, and before a
// removed port is stopped. So no worker ever polls a port being removed.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/result.h"
#include "dataplane/app/port.h"
#include "dataplane/core/pipeline.h"

struct rte_mempool;

namespace ferry::dataplane::app {

// Run-loop counters of one worker, written by it alone (relaxed), read by stats.
struct alignas(64) WorkerCounters {
  std::atomic<std::uint64_t> polls{0};
  std::atomic<std::uint64_t> busy_polls{0};
  std::atomic<std::uint64_t> idle_sleeps{0};
  std::atomic<std::uint64_t> spin_polls{0};   // empty polls followed by another poll, not a sleep
  std::atomic<std::uint64_t> spin_yields{0};  // sched_yield() calls among them
};

struct WorkerInfo {
  unsigned lcore_id;
  std::uint64_t polls, busy_polls, idle_sleeps, spin_polls, spin_yields;
};

class RunLoop {
 public:
  struct Params {
    PortId uplink = 0;                   // a PortId of the PortTable
    std::uint16_t uplink_rx_queues = 1;  // workers with index >= this do not poll the uplink
    std::uint32_t idle_sleep_us = 100;
    std::uint32_t idle_spin_us = 200;
  };

  RunLoop(Pipeline& pipeline, PortTable& ports, Params params);
  ~RunLoop();
  RunLoop(const RunLoop&) = delete;
  RunLoop& operator=(const RunLoop&) = delete;

  // Creates one pipeline context per worker lcore and launches them.
  Result<void> start(const std::vector<unsigned>& worker_lcores, rte_mempool* pool);

  // Control: the endpoint ports to poll from now on. Returns once no worker
  // can still be polling a port that is not in `ports` (one grace period).
  void set_endpoints(const std::vector<PortId>& ports);

  // Asks workers to exit and waits for them.
  void stop();

  [[nodiscard]] std::vector<WorkerInfo> worker_info() const;
  [[nodiscard]] std::size_t workers() const { return workers_.size(); }

 private:
  struct PortList {
    std::uint64_t generation = 0;  // one more per set_endpoints (a freed list's address may come back)
    std::uint16_t count = 0;
    PortId ports[kMaxPorts] = {};
  };
  struct Worker {
    RunLoop* loop = nullptr;
    unsigned lcore_id = 0;
    std::uint16_t queue = 0;
    std::unique_ptr<LcoreContext> ctx;
    WorkerCounters counters;
  };

  class Waiter;
  static int worker_main(void* arg);
  void run(Worker& worker);

  Pipeline& pipeline_;
  PortTable& ports_;
  Params params_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<const PortList*> endpoints_;
  std::uint64_t generation_ = 0;  // control thread
  std::atomic<bool> stop_{false};
  bool launched_ = false;
};

}  // namespace ferry::dataplane::app
