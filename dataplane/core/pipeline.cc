// The pipeline's set-up and entry points: configuration, creation, the
// per-worker contexts, and process_endpoint/process_uplink, which cut what
// they are given into bursts for Pipeline::Burst (burst.h). The packet path
// itself is one file per stage: endpoint.cc (endpoint ingress), arp_proxy.cc,
// ipv6_ingress.cc and nd_proxy.cc (ARP and IPv6 from endpoints), encap.h/.cc
// (VXLAN encapsulation), flood.cc (replication), uplink.cc (uplink ingress),
// decap.cc (decapsulation and delivery), slow_path.cc; stats.cc reads the
// counters.
#include "dataplane/core/pipeline.h"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <algorithm>

#include "dataplane/core/burst.h"

namespace ferry::dataplane {

static_assert(kMaxPorts == RTE_MAX_ETHPORTS, "kMaxPorts must match the DPDK build's RTE_MAX_ETHPORTS");

std::uint16_t eth_tx_burst(void* /*arg*/, PortId port, std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) {
  return rte_eth_tx_burst(port, queue, pkts, n);
}

Result<void> PipelineConfig::validate() const {
  if (auto r = underlay.validate(); !r) return r;
  if (auto r = tables.validate(); !r) return r;
  if (uplink_port >= kMaxPorts) return make_error("uplink port id {} out of range 0..{}", uplink_port, kMaxPorts - 1);
  if (underlay_mtu < 576 || underlay_mtu > 9216) {
    return make_error("underlay MTU {} out of range 576..9216", underlay_mtu);
  }
  if (src_port_min == 0 || src_port_min > src_port_max) {
    return make_error("UDP source port range {}-{} is empty or starts at 0", src_port_min, src_port_max);
  }
  if (slow_path_ring_size < 2 || (slow_path_ring_size & (slow_path_ring_size - 1)) != 0) {
    return make_error("slow-path ring size {} is not a power of two >= 2", slow_path_ring_size);
  }
  if (echo_vni > kMaxVni) return make_error("VTEP echo VNI {} out of range 0..{}", echo_vni, kMaxVni);
  if (indirect_mbufs < 64) return make_error("indirect mbufs {}: at least 64", indirect_mbufs);
  return ok();
}

// ---------------------------------------------------------------------------
// LcoreContext

void LcoreContext::quiescent() { rte_rcu_qsbr_quiescent(rcu_, worker_id_); }
void LcoreContext::offline() { rte_rcu_qsbr_thread_offline(rcu_, worker_id_); }
void LcoreContext::online() { rte_rcu_qsbr_thread_online(rcu_, worker_id_); }

// ---------------------------------------------------------------------------
// Pipeline: set-up

Pipeline::Pipeline(const PipelineConfig& config) : config_(config) {
  src_port_span_ = static_cast<std::uint32_t>(config.src_port_max) - config.src_port_min + 1;
}

Pipeline::~Pipeline() {
  for (rte_ring* ring : {slow_rx_, slow_tx_}) {
    if (ring == nullptr) continue;
    void* obj = nullptr;
    while (rte_ring_dequeue(ring, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
    rte_ring_free(ring);
  }
  rte_mempool_free(indirect_pool_);
}

Result<std::unique_ptr<Pipeline>> Pipeline::create(const PipelineConfig& config) {
  if (auto r = config.validate(); !r) return r.error().wrap("pipeline config");
  std::unique_ptr<Pipeline> p(new Pipeline(config));
  auto tables = Tables::create(config.tables, config.underlay);
  if (!tables) return tables.error();
  p->tables_ = std::move(*tables);
  const std::string rx_name = config.tables.name + "_slow_rx";
  const std::string tx_name = config.tables.name + "_slow_tx";
  p->slow_rx_ = rte_ring_create(rx_name.c_str(), config.slow_path_ring_size, config.tables.socket_id, RING_F_SC_DEQ);
  if (p->slow_rx_ == nullptr) return make_error("cannot create ring {}: {}", rx_name, rte_strerror(rte_errno));
  p->slow_tx_ = rte_ring_create(tx_name.c_str(), config.slow_path_ring_size, config.tables.socket_id,
                                RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (p->slow_tx_ == nullptr) return make_error("cannot create ring {}: {}", tx_name, rte_strerror(rte_errno));
  const std::string ind_name = config.tables.name + "_ind";
  p->indirect_pool_ =
      rte_pktmbuf_pool_create(ind_name.c_str(), config.indirect_mbufs, 32, 0, 0, config.tables.socket_id);
  if (p->indirect_pool_ == nullptr) {
    return make_error("cannot create mempool {}: {}", ind_name, rte_strerror(rte_errno));
  }
  return p;
}

Result<std::unique_ptr<LcoreContext>> Pipeline::make_lcore(std::uint32_t worker_id, std::uint16_t tx_queue,
                                                           rte_mempool* copy_pool) {
  if (worker_id >= config_.tables.max_workers) {
    return make_error("worker id {} out of range 0..{}", worker_id, config_.tables.max_workers - 1);
  }
  for (const LcoreContext* c : lcores_) {
    if (c->worker_id_ == worker_id) return make_error("worker id {} already has a context", worker_id);
  }
  if (copy_pool == nullptr) return make_error("worker {} needs a mempool for flood copies", worker_id);
  auto ctx = std::make_unique<LcoreContext>();
  ctx->worker_id_ = worker_id;
  ctx->tx_queue_ = tx_queue;
  ctx->copy_pool_ = copy_pool;
  ctx->rcu_ = tables_->rcu();
  ctx->counters_ = std::make_unique<LcoreCounters>();
  auto segmenter = Segmenter::create(SegmentConfig{}, copy_pool, indirect_pool_, ctx->counters_.get());
  if (!segmenter) return segmenter.error().wrap(fmt::format("worker {}", worker_id));
  ctx->segmenter_.emplace(std::move(*segmenter));
  ctx->coalescer_ = std::make_unique<Coalescer>(ctx->counters_.get(), kCoalesceMaxChain);
  if (rte_rcu_qsbr_thread_register(ctx->rcu_, worker_id) != 0) {
    return make_error("cannot register worker {} with RCU", worker_id);
  }
  rte_rcu_qsbr_thread_online(ctx->rcu_, worker_id);
  lcores_.push_back(ctx.get());
  return ctx;
}

void Pipeline::set_port_tx_caps(PortId port, PortTxCaps caps) {
  if (port < kMaxPorts) tx_caps_[port].store(caps & kTxCapAll, std::memory_order_release);
}

void Pipeline::release_lcore(LcoreContext& ctx) {
  rte_rcu_qsbr_thread_offline(ctx.rcu_, ctx.worker_id_);
  rte_rcu_qsbr_thread_unregister(ctx.rcu_, ctx.worker_id_);
  lcores_.erase(std::remove(lcores_.begin(), lcores_.end(), &ctx), lcores_.end());
  released_.add(*ctx.counters_);
}

void Pipeline::process_endpoint(LcoreContext& ctx, PortId port, rte_mbuf** pkts, std::uint16_t n) {
  Burst b(*this, ctx);
  if (port >= kMaxPorts) {
    b.count(Counter::unknown_port, n);
    rte_pktmbuf_free_bulk(pkts, n);
    return;
  }
  while (n > 0) {
    const std::uint16_t chunk = std::min(n, kBurstSize);
    b.endpoint(port, pkts, chunk);
    pkts += chunk;
    n = static_cast<std::uint16_t>(n - chunk);
  }
}

void Pipeline::process_uplink(LcoreContext& ctx, rte_mbuf** pkts, std::uint16_t n) {
  Burst b(*this, ctx);
  Burst::Coalescing co;
  b.co = &co;
  while (n > 0) {
    const std::uint16_t chunk = std::min(n, kBurstSize);
    b.uplink(pkts, chunk);
    pkts += chunk;
    n = static_cast<std::uint16_t>(n - chunk);
  }
  // TCP segments for ports that take super-frames, gathered over the bursts.
  if (co.n != 0) {
    b.deliver_coalesced();
    b.flush_all();
  }
}

}  // namespace ferry::dataplane
