// The forwarding pipeline: endpoint ingress (anti-spoofing, ARP proxy, local
// switching, VXLAN encapsulation, flooding) and uplink ingress (VXLAN
// decapsulation, slow-path hand-off of ARP). No I/O of its own: the run loop
// receives a burst and hands it here; frames leave through the lcore's TX
// function (rte_eth_tx_burst by default) before process_* returns.
//
// See docs/dataplane-pipeline.md for how the run loop and the control thread
// use it ("Interface") and for the design.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/result.h"
#include "dataplane/core/coalesce.h"
#include "dataplane/core/counters.h"
#include "dataplane/core/port_caps.h"
#include "dataplane/core/segment.h"
#include "dataplane/core/tables.h"
#include "dataplane/core/types.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

namespace ferry::dataplane {

struct PipelineConfig {
  UnderlayConfig underlay;  // VTEP IP, uplink MAC, UDP port, TTL, DF
  TablesConfig tables;
  PortId uplink_port = 0;             // DPDK port id of the uplink
  std::uint32_t underlay_mtu = 1500;  // IPv4 MTU of the uplink; 1500 .. 9216
  // Outer UDP source port range (RFC 7348 §5: a hash of the inner flow mapped
  // into it). Default: the IANA dynamic range.
  std::uint16_t src_port_min = 49152;
  std::uint16_t src_port_max = 65535;
  // Slots of the slow-path rings (power of two).
  std::uint32_t slow_path_ring_size = 1024;
  // mbufs of the pool software segmentation attaches to payloads it does not
  // copy (segments larger than a copy-pool mbuf; none with the daemon's
  // pool, whose mbufs hold a whole frame). Data room 0.
  std::uint32_t indirect_mbufs = 1023;
  // The VTEP echo's management VNI (vtep_echo.h): uplink frames of it go to
  // the slow path before the VNI lookup and are never delivered to a port.
  // 0: none (every VNI is a network's).
  Vni echo_vni = kMaxVni;

  [[nodiscard]] Result<void> validate() const;
};

// Sends n frames on (port, queue); returns how many were accepted. The
// pipeline frees (and counts as tx_full) the rest.
using TxFn = std::uint16_t (*)(void* arg, PortId port, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n);

// The default TxFn: rte_eth_tx_burst.
std::uint16_t eth_tx_burst(void* arg, PortId port, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n);

// One worker's state: counters, TX buffers, RCU thread id. Create one per
// worker lcore with Pipeline::make_lcore(); use it from that thread only.
class alignas(64) LcoreContext {
 public:
  // Reports a quiescent state: the worker holds no table pointers. Call once
  // per loop iteration, after process_* returned.
  void quiescent();
  // Around an idle sleep: an offline worker does not delay grace periods.
  void offline();
  void online();

  // This lcore's counters (the owner reads them directly; others use
  // Pipeline::stats()).
  [[nodiscard]] const LcoreCounters& counters() const { return *counters_; }
  [[nodiscard]] std::uint32_t worker_id() const { return worker_id_; }

  // Replaces the TX function (tests, the bench). Default: eth_tx_burst.
  void set_tx(TxFn fn, void* arg) {
    tx_fn_ = fn;
    tx_arg_ = arg;
  }

 private:
  friend class Pipeline;
  // Frames for one port: flushed once it holds a burst (kBurstSize); the
  // segments of several super-frames gather up to kTxBufferSize, so a
  // kernel-UDP uplink packs them into as few UDP_SEGMENT sends as it can.
  static constexpr std::uint16_t kTxBufferSize = 256;
  struct TxBuffer {
    std::uint16_t n = 0;
    rte_mbuf* pkts[kTxBufferSize];
  };

  std::uint32_t worker_id_ = 0;       // RCU QSBR thread id
  std::uint16_t tx_queue_ = 0;        // TX queue this worker uses on every port
  rte_mempool* copy_pool_ = nullptr;  // for flood copies
  rte_rcu_qsbr* rcu_ = nullptr;
  TxFn tx_fn_ = eth_tx_burst;
  void* tx_arg_ = nullptr;
  std::uint32_t touched_mask_ = 0;  // ports with frames in tx_
  std::uint16_t ip_id_ = 0;         // outer IPv4 id when DF is off
  TxBuffer tx_[kMaxPorts];
  std::unique_ptr<LcoreCounters> counters_;
  // Super-frames: segmentation and checksums for ports that cannot take
  // them (segments from copy_pool_), coalescing for ports that take them.
  std::optional<Segmenter> segmenter_;
  std::unique_ptr<Coalescer> coalescer_;
};

class Pipeline {
 public:
  // Creates the tables and the slow-path rings. Needs EAL initialised.
  static Result<std::unique_ptr<Pipeline>> create(const PipelineConfig& config);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Control: the forwarding tables (add/del networks, ports, MACs, ...).
  [[nodiscard]] Tables& tables() { return *tables_; }
  [[nodiscard]] const Tables& tables() const { return *tables_; }
  [[nodiscard]] const PipelineConfig& config() const { return config_; }

  // Control: what port `port` transmits of a frame's offload requests
  // (PortTxCap bits, port_caps.h). Set it before the port id is published to
  // the workers (Tables::add_port, the run loop's port list), and back to 0
  // after the port is gone. Default 0: every frame the port gets is
  // segmented and its checksums complete.
  void set_port_tx_caps(PortId port, PortTxCaps caps);
  [[nodiscard]] PortTxCaps port_tx_caps(PortId port) const {
    return port < kMaxPorts ? tx_caps_[port].load(std::memory_order_relaxed) : 0;
  }

  // Control (before starting the worker): a context for worker `worker_id`
  // (0 .. tables.max_workers-1), which registers it with RCU (online).
  // `tx_queue`: its TX queue on every port. `copy_pool`: mempool for flood
  // copies and the segments of software segmentation (mbufs need
  // RTE_PKTMBUF_HEADROOM >= 50 and a data room of at least headroom + 256;
  // a frame's worth, so that every segment is one mbuf). The pipeline keeps
  // a pointer for stats(); the context must outlive its use by the worker.
  Result<std::unique_ptr<LcoreContext>> make_lcore(std::uint32_t worker_id, std::uint16_t tx_queue,
                                                   rte_mempool* copy_pool);
  // Control: unregisters a context (after its worker stopped).
  void release_lcore(LcoreContext& ctx);

  // ---- worker hot path. Takes ownership of every mbuf: each is sent,
  // handed to the slow path or freed (and counted). Any n; frames are
  // handled in bursts of kBurstSize, and TCP segments for ports that take
  // super-frames are coalesced across up to kUplinkBurstSize of them.
  void process_uplink(LcoreContext& ctx, rte_mbuf** pkts, std::uint16_t n);
  void process_endpoint(LcoreContext& ctx, PortId port, rte_mbuf** pkts, std::uint16_t n);
  // Sends up to a burst of frames the control thread queued with inject(),
  // each out of its port. Call it from ONE worker's loop (e.g. worker 0).
  void drain_injected(LcoreContext& ctx);

  // ---- control thread: slow path
  // Frames from the uplink for the control thread (ARP whose target is our
  // VTEP IP: requests for us and replies to our requests), whole Ethernet
  // frames. Multi-producer (workers), single consumer (control): dequeue with
  // rte_ring_dequeue_burst and free them after use.
  [[nodiscard]] rte_ring* slow_path_rx() const { return slow_rx_; }
  // Queues a whole Ethernet frame the control thread built for `port`: the
  // uplink (ARP for the VTEP) or an endpoint port (neighbour announcements;
  // dropped as inject_no_port if the port is gone by the time it is sent).
  // False (frame not taken) when the ring is full.
  bool inject(rte_mbuf* frame, PortId port);

  // Sum of every context's counters (relaxed reads; may lag a burst).
  [[nodiscard]] Stats stats() const;
  // One lcore's counters (per-lcore stats), in make_lcore order.
  [[nodiscard]] std::vector<std::pair<std::uint32_t, Stats>> stats_per_lcore() const;

 private:
  explicit Pipeline(const PipelineConfig& config);
  struct Burst;  // the packet path (burst.h, private to dataplane/core)

  PipelineConfig config_;
  std::unique_ptr<Tables> tables_;
  rte_ring* slow_rx_ = nullptr;
  rte_ring* slow_tx_ = nullptr;
  rte_mempool* indirect_pool_ = nullptr;  // segmentation's payload references
  // Per port: PortTxCaps. Written by the control thread before the port is
  // published, read by workers per frame that asks for an offload.
  std::array<std::atomic<PortTxCaps>, kMaxPorts> tx_caps_{};
  std::uint32_t src_port_span_ = 0;    // src_port_max - src_port_min + 1
  std::vector<LcoreContext*> lcores_;  // control-side registry for stats
  Stats released_;                     // counters of released contexts
};

}  // namespace ferry::dataplane
