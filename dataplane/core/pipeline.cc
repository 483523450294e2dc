// The packet path. Each ingress function works on one burst in stages:
// prefetch every frame, parse/classify every frame (no table access), one bulk hash lookup for the
// burst, then a per-frame action chosen from the lookup result, and the TX
// buffers flushed at the end. A failed check is a value (a drop reason), not
// a branch into error handling.
#include "dataplane/core/pipeline.h"

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstring>

namespace ferry::dataplane {

static_assert(kMaxPorts == RTE_MAX_ETHPORTS, "kMaxPorts must match the DPDK build's RTE_MAX_ETHPORTS");
static_assert(kMaxPorts <= 32, "LcoreContext::touched_mask_ is 32 bits");
static_assert(kBurstSize <= RTE_HASH_LOOKUP_BULK_MAX);

namespace {

constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherArp = 0x0806;
constexpr std::uint16_t kEtherIpv6 = 0x86dd;
constexpr std::uint16_t kEtherVlan = 0x8100;
constexpr std::uint16_t kEtherQinQ = 0x88a8;
constexpr std::uint16_t kEtherQinQOld = 0x9100;
constexpr std::uint32_t kEthSize = 14;
constexpr std::uint32_t kVxlanOverhead = 20 + 8 + 8;  // outer IPv4 + UDP + VXLAN, counted against the MTU
constexpr std::uint32_t kArpSize = 28;
constexpr std::uint32_t kIpv6Size = 40;
constexpr std::uint8_t kProtoIcmpv6 = 58;
// ICMPv6 Neighbor Discovery (RFC 4861): types 133..137 and, per type, the
// fixed part's size (where the options start, and the least valid length).
constexpr std::uint8_t kNdFirst = 133;  // Router Solicitation
constexpr std::uint8_t kNdRa = 134;     // Router Advertisement
constexpr std::uint8_t kNdNs = 135;     // Neighbor Solicitation
constexpr std::uint8_t kNdNa = 136;     // Neighbor Advertisement
constexpr std::uint8_t kNdLast = 137;   // Redirect
constexpr std::uint8_t kNdRedirect = kNdLast;
constexpr std::uint32_t kNdFixedSize[] = {8, 16, 24, 24, 40};
constexpr std::uint8_t kNdOptSourceLl = 1;
constexpr std::uint8_t kNdOptTargetLl = 2;
constexpr std::uint32_t kNaSize = 24 + 8;  // the NA we send: header + target link-layer address option
constexpr std::uint8_t kNaSolicited = 0x40;
constexpr std::uint8_t kNaOverride = 0x20;
constexpr std::uint64_t kMac48 = (1ull << 48) - 1;
constexpr std::uint64_t kNeighbourMacMask = kMac48;

// Unaligned loads/stores of wire fields.
inline std::uint16_t load_be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
inline std::uint32_t load_u32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline std::uint32_t load_be32(const std::uint8_t* p) { return rte_be_to_cpu_32(load_u32(p)); }
inline void store_be16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
// A 6-byte MAC at p as the low 48 bits (first byte most significant). Reads
// 8 bytes: every caller has checked that at least 8 bytes follow p (a MAC in
// an Ethernet header or an ARP body). One 8-byte load, not a 6-byte memcpy:
// the latter becomes two stores and an 8-byte reload, a store-forwarding stall.
inline std::uint64_t load_mac(const std::uint8_t* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return rte_be_to_cpu_64(v) >> 16;
}
inline void store_mac(std::uint8_t* p, std::uint64_t mac48) {
  const std::uint64_t be = rte_cpu_to_be_64(mac48 << 16);
  std::memcpy(p, &be, 6);
}

// A MAC from an ND option: exactly 6 bytes read (the option may end the frame).
inline std::uint64_t load_mac6(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 6; ++i) v = (v << 8) | p[i];
  return v;
}

inline std::uint16_t fold_checksum(std::uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

// One's-complement sum check of an IPv4 header (ihl_bytes multiple of 4):
// 32-bit words summed in 64 bits and folded. Byte order does not matter for
// the all-ones test, so the words are summed as loaded.
inline bool ipv4_checksum_ok(const std::uint8_t* ip, std::uint32_t ihl_bytes) {
  std::uint64_t sum = 0;
  for (std::uint32_t i = 0; i < ihl_bytes; i += 4) sum += load_u32(ip + i);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  return fold_checksum(static_cast<std::uint32_t>(sum)) == 0xffff;
}

// The ICMPv6 checksum sum (RFC 4443 §2.3): pseudo-header (source,
// destination, upper-layer length, next header 58) and the message, as
// big-endian 16-bit words, folded. A message whose checksum is right sums to
// 0xffff; to fill one in, sum it with a zero checksum and store ~sum.
inline std::uint16_t icmpv6_sum(const std::uint8_t* ip6, const std::uint8_t* msg, std::uint32_t size) {
  std::uint64_t sum = size + kProtoIcmpv6;
  for (std::uint32_t i = 8; i < kIpv6Size; i += 2) sum += load_be16(ip6 + i);
  for (std::uint32_t i = 0; i + 1 < size; i += 2) sum += load_be16(msg + i);
  if ((size & 1) != 0) sum += std::uint32_t{msg[size - 1]} << 8;
  sum = (sum & 0xffffffffu) + (sum >> 32);
  return fold_checksum(static_cast<std::uint32_t>(sum) + static_cast<std::uint32_t>(sum >> 32));
}

inline bool is_ipv6_link_local(const std::uint8_t* a) { return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; }

// An endpoint may send from its own IPv6 addresses, from :: (duplicate
// address detection, RFC 4862 §5.4, and MLD reports before it has an
// address) and from any link-local address (fe80::/10: the kernel derives
// one per interface and uses it for ND, RS and MLD; it is not routed off the
// link, and the link here is the network). See docs/dataplane-pipeline.md.
inline bool ipv6_source_ok(const std::uint8_t* a, const PortRecord& pr) {
  std::uint64_t w[2];
  std::memcpy(w, a, 16);
  bool own = (w[0] | w[1]) == 0 || is_ipv6_link_local(a);
  for (std::uint32_t k = 0; k < pr.ip6_count; ++k) own |= pr.ips6[k][0] == w[0] && pr.ips6[k][1] == w[1];
  return own;
}

// Bulk lookup of 8-byte keys with their hashes computed inline (the tables
// hash with rte_hash_crc, which for 8 bytes is one CRC32-C instruction): saves
// an indirect call per key inside rte_hash.
inline void lookup_bulk(rte_hash* h, const std::uint64_t* keys, const void** key_ptrs, std::uint32_t n,
                        std::uint64_t* hits, void** data) {
  hash_sig_t sigs[kBurstSize];
  for (std::uint32_t i = 0; i < n; ++i) {
    key_ptrs[i] = &keys[i];
    sigs[i] = rte_hash_crc_8byte(keys[i], 0);
  }
  rte_hash_lookup_with_hash_bulk_data(h, key_ptrs, sigs, n, hits, data);
}

inline void bump(std::uint64_t& c, std::uint64_t n = 1) {
  __atomic_store_n(&c, __atomic_load_n(&c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

// RFC 7348 §5: the outer UDP source port comes from a hash of the inner
// frame's flow (L3/L4 5-tuple when there is one, else the L2 header).
inline std::uint32_t inner_flow_hash(const std::uint8_t* f, std::uint32_t len) {
  const std::uint16_t type = load_be16(f + 12);
  std::uint32_t h;
  if (type == kEtherIpv4 && len >= kEthSize + 20) {
    const std::uint8_t* ip = f + kEthSize;
    std::uint64_t addrs;
    std::memcpy(&addrs, ip + 12, 8);
    h = rte_hash_crc_8byte(addrs, ip[9]);
    const std::uint32_t ihl = (ip[0] & 0x0fu) * 4;
    const bool first_fragment = (load_be16(ip + 6) & 0x1fff) == 0;
    if ((ip[9] == 6 || ip[9] == 17 || ip[9] == 132) && first_fragment && ihl >= 20 && len >= kEthSize + ihl + 4) {
      h = rte_hash_crc_4byte(load_u32(ip + ihl), h);
    }
  } else if (type == kEtherIpv6 && len >= kEthSize + 40) {
    const std::uint8_t* ip = f + kEthSize;
    std::uint64_t w[4];
    std::memcpy(w, ip + 8, 32);
    h = rte_hash_crc_8byte(w[0], ip[6]);
    h = rte_hash_crc_8byte(w[1], h);
    h = rte_hash_crc_8byte(w[2], h);
    h = rte_hash_crc_8byte(w[3], h);
    if ((ip[6] == 6 || ip[6] == 17) && len >= kEthSize + 44) h = rte_hash_crc_4byte(load_u32(ip + 40), h);
  } else {
    std::uint64_t macs[2] = {0, 0};
    std::memcpy(macs, f, 12);
    h = rte_hash_crc_8byte(macs[0], type);
    h = rte_hash_crc_4byte(static_cast<std::uint32_t>(macs[1]), h);
  }
  // CRC32-C mixes its input well; fold to spread it over the high bits too.
  return h ^ (h >> 16) * 0x45d9f3bu;
}

enum : std::uint16_t {
  // Per-frame "next" values above the port ids.
  kNextDrop = 0x8000,    // reason in the reason array
  kNextFlood = 0x8001,   // replicate (handled during dispatch)
  kNextRemote = 0x8002,  // encapsulate to a VTEP slot
  kNextDone = 0x8003,    // already taken care of (slow path)
};

// What the endpoint IPv6 check decided.
enum class V6Verdict : std::uint8_t {
  kForward,  // source fine, not ND we answer: switch it like any frame
  kReply,    // a Neighbor Solicitation turned into our Neighbor Advertisement in place
  kDrop,     // reason given
};

}  // namespace

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
  if (rte_rcu_qsbr_thread_register(ctx->rcu_, worker_id) != 0) {
    return make_error("cannot register worker {} with RCU", worker_id);
  }
  rte_rcu_qsbr_thread_online(ctx->rcu_, worker_id);
  lcores_.push_back(ctx.get());
  return ctx;
}

void Pipeline::release_lcore(LcoreContext& ctx) {
  rte_rcu_qsbr_thread_offline(ctx.rcu_, ctx.worker_id_);
  rte_rcu_qsbr_thread_unregister(ctx.rcu_, ctx.worker_id_);
  lcores_.erase(std::remove(lcores_.begin(), lcores_.end(), &ctx), lcores_.end());
  released_.add(*ctx.counters_);
}

Stats Pipeline::stats() const {
  Stats total = released_;
  for (const LcoreContext* c : lcores_) total.add(*c->counters_);
  return total;
}

std::vector<std::pair<std::uint32_t, Stats>> Pipeline::stats_per_lcore() const {
  std::vector<std::pair<std::uint32_t, Stats>> out;
  for (const LcoreContext* c : lcores_) {
    Stats s;
    s.add(*c->counters_);
    out.emplace_back(c->worker_id_, s);
  }
  return out;
}

bool Pipeline::inject(rte_mbuf* frame) { return rte_ring_sp_enqueue(slow_tx_, frame) == 0; }

// ---------------------------------------------------------------------------
// TX buffering

namespace {

// The whole hot path lives in this class so its helpers can be inline and
// reach the pipeline's and the context's private state.
}  // namespace

struct Pipeline::Burst {
  Pipeline& p;
  LcoreContext& ctx;
  LcoreCounters& c;
  const Tables& t;

  Burst(Pipeline& pipeline, LcoreContext& context)
      : p(pipeline), ctx(context), c(*context.counters_), t(*pipeline.tables_) {}

  void count(Counter k, std::uint64_t n = 1) { bump(c.counters[static_cast<std::size_t>(k)], n); }
  void count_net(std::uint32_t slot, NetCounter k, std::uint64_t n = 1) {
    bump(c.networks[slot][static_cast<std::size_t>(k)], n);
  }
  void count_port(PortId port, PortCounter k, std::uint64_t n) { bump(c.ports[port][static_cast<std::size_t>(k)], n); }

  void drop(rte_mbuf* m, Counter reason) {
    count(reason);
    rte_pktmbuf_free(m);
  }

  void flush_port(PortId port) {
    LcoreContext::TxBuffer& b = ctx.tx_[port];
    const std::uint16_t n = b.n;
    if (n == 0) return;
    b.n = 0;
    std::uint64_t bytes = 0;
    for (std::uint16_t i = 0; i < n; ++i) bytes += rte_pktmbuf_pkt_len(b.pkts[i]);
    const std::uint16_t sent = ctx.tx_fn_(ctx.tx_arg_, port, ctx.tx_queue_, b.pkts, n);
    if (sent < n) {
      for (std::uint16_t i = sent; i < n; ++i) bytes -= rte_pktmbuf_pkt_len(b.pkts[i]);
      rte_pktmbuf_free_bulk(b.pkts + sent, n - sent);
      count(Counter::tx_full, n - sent);
      count_port(port, PortCounter::tx_dropped, n - sent);
    }
    count(Counter::tx, sent);
    count_port(port, PortCounter::tx_packets, sent);
    count_port(port, PortCounter::tx_bytes, bytes);
  }

  void send(PortId port, rte_mbuf* m) {
    LcoreContext::TxBuffer& b = ctx.tx_[port];
    b.pkts[b.n++] = m;
    ctx.touched_mask_ |= 1u << port;
    if (b.n == kBurstSize) flush_port(port);
  }

  void flush_all() {
    std::uint32_t mask = ctx.touched_mask_;
    ctx.touched_mask_ = 0;
    while (mask != 0) {
      const int port = __builtin_ctz(mask);
      mask &= mask - 1;
      flush_port(static_cast<PortId>(port));
    }
  }

  // Frames are parsed, encapsulated and sent as one contiguous segment (the
  // af_xdp PMD, for one, transmits only the first). A chain (a NIC that
  // scattered a frame over several receive buffers) is joined here: in place
  // when its first segment has the room, else copied into one mbuf of the
  // pool. Returns the contiguous frame, or nullptr (dropped and counted).
  rte_mbuf* contiguous(rte_mbuf* m) {
    if (rte_pktmbuf_linearize(m) == 0) {
      count(Counter::linearized);
      return m;
    }
    rte_mempool* pool = ctx.copy_pool_;
    if (rte_pktmbuf_pkt_len(m) > static_cast<std::uint32_t>(rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM)) {
      drop(m, Counter::chain_too_long);
      return nullptr;
    }
    rte_mbuf* copy = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
    if (copy == nullptr) {
      drop(m, Counter::no_mbuf);
      return nullptr;
    }
    rte_pktmbuf_free(m);
    count(Counter::linearized);
    return copy;
  }

  // Prefetches every frame, sums its bytes and makes chains contiguous
  // (dropping those that cannot be); returns the frames left, in order.
  std::uint16_t prepare(rte_mbuf** pkts, std::uint16_t n, std::uint64_t& bytes) {
    std::uint16_t kept = 0;
    for (std::uint16_t i = 0; i < n; ++i) {
      rte_mbuf* m = pkts[i];
      bytes += rte_pktmbuf_pkt_len(m);
      // A GSO super-frame (a vnet endpoint's, up to 64 KB) stays a chain:
      // its headers lie in the first segment, and it is switched between
      // endpoints as it is (encapsulation drops it as mtu_exceeded).
      if (m->nb_segs != 1 && (m->ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG)) == 0) [[unlikely]] {
        m = contiguous(m);
        if (m == nullptr) continue;
      }
      rte_prefetch0(rte_pktmbuf_mtod(m, void*));
      pkts[kept++] = m;
    }
    return kept;
  }

  // Source port for a frame.
  std::uint16_t src_port(const std::uint8_t* frame, std::uint32_t len) const {
    const std::uint32_t h = inner_flow_hash(frame, len);
    return static_cast<std::uint16_t>(p.config_.src_port_min +
                                      ((static_cast<std::uint64_t>(h) * p.src_port_span_) >> 32));
  }

  // Prepends the VTEP's outer headers and patches the per-packet fields.
  // Returns false (and counts) when the frame cannot be encapsulated.
  bool encap(rte_mbuf* m, const VtepRecord* v, Vni vni, std::uint16_t sport) {
    if (v == nullptr || !v->resolved) {
      drop(m, Counter::vtep_unresolved);
      return false;
    }
    const std::uint32_t inner = rte_pktmbuf_pkt_len(m);
    if (inner + kVxlanOverhead > p.config_.underlay_mtu) {
      drop(m, Counter::mtu_exceeded);
      return false;
    }
    auto* h = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_prepend(m, kEncapHeaderSize));
    if (h == nullptr) {
      drop(m, Counter::no_headroom);
      return false;
    }
    std::memcpy(h, v->header, kEncapHeaderSize);
    std::uint8_t* ip = h + kEthSize;
    const std::uint16_t total = static_cast<std::uint16_t>(inner + kVxlanOverhead);
    store_be16(ip + 2, total);
    std::uint32_t sum = v->ip_sum_base + total;
    if (!p.config_.underlay.dont_fragment) {
      // Fragmentable datagrams need distinct ids (RFC 6864); with DF set
      // (the default) the template's id 0 is fine.
      const std::uint16_t id = ctx.ip_id_++;
      store_be16(ip + 4, id);
      sum += id;
    }
    store_be16(ip + 10, static_cast<std::uint16_t>(~fold_checksum(sum)));
    std::uint8_t* udp = ip + 20;
    store_be16(udp, sport);
    store_be16(udp + 4, static_cast<std::uint16_t>(inner + 16));
    const std::uint32_t vni_word = rte_cpu_to_be_32(vni << 8);
    std::memcpy(udp + 12, &vni_word, 4);
    m->l2_len = kEthSize;
    m->l3_len = 20;
    return true;
  }

  // Replicates m to every local port of `net` but `except`, and (when
  // `to_vteps`) encapsulated to every VTEP of its flood list. Consumes m.
  void flood(rte_mbuf* m, const NetworkRecord* net, PortId except, bool to_vteps) {
    PortId ports[kMaxPorts];
    std::uint32_t n_ports = 0;
    for (PortId port : net->ports) {
      if (port != except) ports[n_ports++] = port;
    }
    const std::size_t n_vteps = to_vteps ? net->flood.size() : 0;
    const std::size_t targets = n_ports + n_vteps;
    if (targets == 0) {
      count_net(net->slot, NetCounter::dropped);
      drop(m, Counter::flood_no_target);
      return;
    }
    count(Counter::flooded);
    count(Counter::flood_copies, targets - 1);
    std::uint16_t sport = 0;
    if (n_vteps != 0) {
      sport = src_port(rte_pktmbuf_mtod(m, const std::uint8_t*), rte_pktmbuf_data_len(m));
    }
    // The original goes to the last target, after every copy was made from it.
    std::size_t i = 0;
    for (; i < targets; ++i) {
      rte_mbuf* out = m;
      if (i + 1 < targets) {
        out = rte_pktmbuf_copy(m, ctx.copy_pool_, 0, UINT32_MAX);
        if (out == nullptr) {
          count(Counter::no_mbuf);
          continue;
        }
      }
      if (i < n_ports) {
        count(Counter::local_switched);
        count_net(net->slot, NetCounter::to_endpoints);
        send(ports[i], out);
      } else if (encap(out, t.vtep_at(net->flood[i - n_ports]), net->vni, sport)) {
        count(Counter::encap);
        count_net(net->slot, NetCounter::encap);
        send(p.config_.uplink_port, out);
      }
    }
  }

  // Answers an ARP request in place (same mbuf, back out of `port`).
  static void make_arp_reply(std::uint8_t* f, std::uint64_t answer_mac) {
    std::uint8_t* arp = f + kEthSize;
    std::uint8_t requester_mac[6];
    std::uint8_t requester_ip[4];
    std::uint8_t target_ip[4];
    std::memcpy(requester_mac, arp + 8, 6);
    std::memcpy(requester_ip, arp + 14, 4);
    std::memcpy(target_ip, arp + 24, 4);
    std::memcpy(f, requester_mac, 6);  // Ethernet destination
    store_mac(f + 6, answer_mac);      // Ethernet source
    store_be16(arp + 6, 2);            // op: reply
    store_mac(arp + 8, answer_mac);    // sender hardware address
    std::memcpy(arp + 14, target_ip, 4);
    std::memcpy(arp + 18, requester_mac, 6);
    std::memcpy(arp + 24, requester_ip, 4);
  }

  // Turns the Neighbor Solicitation in m (validated: ICMPv6 right after the
  // fixed header at ip, message at ip + 40) into the Neighbor Advertisement
  // answering it for `target` at `answer_mac`, in place. False (m unchanged)
  // when the mbuf has no room for the 86-byte answer.
  static bool make_na(rte_mbuf* m, std::uint8_t* f, std::uint64_t answer_mac) {
    const std::uint32_t size = kEthSize + kIpv6Size + kNaSize;
    const std::uint32_t len = rte_pktmbuf_data_len(m);
    if (len < size && rte_pktmbuf_append(m, static_cast<std::uint16_t>(size - len)) == nullptr) return false;
    if (len > size) rte_pktmbuf_trim(m, static_cast<std::uint16_t>(len - size));
    std::uint8_t* ip = f + kEthSize;
    std::uint8_t* icmp = ip + kIpv6Size;
    std::uint8_t target[16];
    std::uint8_t asker[16];
    std::memcpy(target, icmp + 8, 16);
    std::memcpy(asker, ip + 8, 16);
    const bool dad = std::all_of(asker, asker + 16, [](std::uint8_t b) { return b == 0; });
    // Ethernet: back to the asker, or to all nodes for a DAD probe (RFC 4861 §7.2.4).
    if (dad) {
      static constexpr std::uint8_t kAllNodesMac[6] = {0x33, 0x33, 0, 0, 0, 1};
      std::memcpy(f, kAllNodesMac, 6);
    } else {
      std::memcpy(f, f + 6, 6);
    }
    store_mac(f + 6, answer_mac);
    // IPv6: traffic class and flow label 0, payload 32, ICMPv6, hop limit 255.
    ip[0] = 0x60;
    ip[1] = ip[2] = ip[3] = 0;
    store_be16(ip + 4, kNaSize);
    ip[6] = kProtoIcmpv6;
    ip[7] = 255;
    std::memcpy(ip + 8, target, 16);
    if (dad) {
      static constexpr std::uint8_t kAllNodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
      std::memcpy(ip + 24, kAllNodes, 16);
    } else {
      std::memcpy(ip + 24, asker, 16);
    }
    // NA: Router clear, Solicited unless to all nodes, Override set; target;
    // target link-layer address option.
    std::memset(icmp, 0, kNaSize);
    icmp[0] = kNdNa;
    icmp[4] = dad ? kNaOverride : kNaSolicited | kNaOverride;
    std::memcpy(icmp + 8, target, 16);
    icmp[24] = kNdOptTargetLl;
    icmp[25] = 1;  // 8 bytes
    store_mac(icmp + 26, answer_mac);
    store_be16(icmp + 2, static_cast<std::uint16_t>(~icmpv6_sum(ip, icmp, kNaSize)));
    return true;
  }

  // RA guard behind extension headers (RFC 7113): walks at most
  // kMaxExtHeaders hop-by-hop / routing / destination-options / fragment
  // headers. True when they lead to an ICMPv6 Router Advertisement or
  // Redirect, or when the chain is cut short by the frame or too long to
  // tell (an endpoint gets no benefit of the doubt). MLD (hop-by-hop, then
  // ICMPv6 143) and everything else is not affected.
  static bool ra_behind_extensions(const std::uint8_t* ip, std::uint32_t size) {
    constexpr unsigned kMaxExtHeaders = 4;
    constexpr std::uint8_t kHopByHop = 0, kRouting = 43, kFragment = 44, kDestOpts = 60;
    std::uint8_t next = ip[6];
    std::uint32_t at = kIpv6Size;
    for (unsigned i = 0; i < kMaxExtHeaders; ++i) {
      if (next != kHopByHop && next != kRouting && next != kDestOpts && next != kFragment) return false;
      if (size - at < 8) return true;
      const std::uint8_t* h = ip + at;
      if (next == kFragment && (load_be16(h + 2) & 0xfff8) != 0) return false;  // not the first fragment
      const std::uint32_t hlen = next == kFragment ? 8 : (h[1] + 1u) * 8;
      next = h[0];
      at += hlen;
      if (at > size) return true;
      if (next == kProtoIcmpv6) {
        if (size - at < 1) return true;
        return ip[at] == kNdRa || ip[at] == kNdRedirect;
      }
    }
    return next == kHopByHop || next == kRouting || next == kDestOpts || next == kFragment;
  }

  // IPv6 from an endpoint (EtherType 0x86dd, frame f of len bytes): the
  // source check, ND validation and the ND proxy. Out of line and after the
  // IPv4 and ARP branches, so the IPv4 fast path does not carry it.
  [[gnu::noinline]] V6Verdict ipv6_from_endpoint(rte_mbuf* m, std::uint8_t* f, std::uint32_t len, const PortRecord& pr,
                                                 Counter& why) {
    if (len < kEthSize + kIpv6Size) {
      why = Counter::truncated;
      return V6Verdict::kDrop;
    }
    const std::uint8_t* ip = f + kEthSize;
    if (!ipv6_source_ok(ip + 8, pr)) {
      why = Counter::spoofed_src_ip6;
      return V6Verdict::kDrop;
    }
    // Only ICMPv6 right after the fixed header is parsed; behind extension
    // headers everything is forwarded, source-checked only, except what the
    // RA guard must see (ra_behind_extensions).
    const std::uint8_t* icmp = ip + kIpv6Size;
    if (ip[6] != kProtoIcmpv6) {
      if (ra_behind_extensions(ip, len - kEthSize)) {
        why = Counter::ra_guard;
        return V6Verdict::kDrop;
      }
      return V6Verdict::kForward;
    }
    if (len < kEthSize + kIpv6Size + 1) return V6Verdict::kForward;
    const std::uint8_t type = icmp[0];
    if (type < kNdFirst || type > kNdLast) return V6Verdict::kForward;

    // Neighbor Discovery: validated as a receiver would (RFC 4861 §6.1, §7.1,
    // §8.1) so nothing half-parsed is forwarded or answered.
    const std::uint32_t size = load_be16(ip + 4);  // ICMPv6 length: no extension headers
    if (size > len - kEthSize - kIpv6Size) {
      why = Counter::truncated;
      return V6Verdict::kDrop;
    }
    const std::uint32_t fixed = kNdFixedSize[type - kNdFirst];
    why = Counter::bad_nd;
    if (size < fixed || ip[7] != 255 || icmp[1] != 0) return V6Verdict::kDrop;
    if (icmpv6_sum(ip, icmp, size) != 0xffff) {
      why = Counter::bad_nd_checksum;
      return V6Verdict::kDrop;
    }
    bool source_ll = false;
    for (std::uint32_t at = fixed; at < size;) {
      if (size - at < 2) return V6Verdict::kDrop;
      const std::uint32_t opt_size = icmp[at + 1] * 8u;
      if (opt_size == 0 || opt_size > size - at) return V6Verdict::kDrop;
      const std::uint8_t opt = icmp[at];
      // The link-layer address an endpoint announces for itself must be its
      // own (the ARP sender-MAC check's counterpart). A Redirect's target
      // address option names another host: not checked.
      if ((opt == kNdOptSourceLl || (opt == kNdOptTargetLl && type == kNdNa)) && opt_size == 8 &&
          load_mac6(icmp + at + 2) != pr.mac_u64) {
        why = Counter::spoofed_src_mac;
        return V6Verdict::kDrop;
      }
      source_ll |= opt == kNdOptSourceLl;
      at += opt_size;
    }
    // RA guard (RFC 6105's idea): a container is never a router. Since any
    // link-local source is accepted, an advertisement or redirect from one
    // could otherwise pose as the network's gateway to its neighbours.
    if (type == kNdRa || type == kNdRedirect) {
      why = Counter::ra_guard;
      return V6Verdict::kDrop;
    }
    if (type != kNdNs && type != kNdNa) return V6Verdict::kForward;
    const std::uint8_t* target = icmp + 8;
    if (target[0] == 0xff) return V6Verdict::kDrop;  // multicast target
    const bool from_unspecified = std::all_of(ip + 8, ip + 24, [](std::uint8_t b) { return b == 0; });
    const bool to_multicast = ip[24] == 0xff;
    if (type == kNdNa) {
      // An advertisement claims its target: it must be the endpoint's own
      // (or link-local), as an ARP sender IP must (else spoofed_src_ip6).
      if ((icmp[4] & kNaSolicited) != 0 && to_multicast) return V6Verdict::kDrop;
      if (!ipv6_source_ok(target, pr) || std::all_of(target, target + 16, [](std::uint8_t b) { return b == 0; })) {
        why = Counter::spoofed_src_ip6;
        return V6Verdict::kDrop;
      }
      return V6Verdict::kForward;
    }
    if (from_unspecified) {
      // DAD probe: to the target's solicited-node group ff02::1:ffXX:XXXX,
      // without a source link-layer address option.
      static constexpr std::uint8_t kSolicitedNode[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
      if (source_ll || std::memcmp(ip + 24, kSolicitedNode, 13) != 0 || std::memcmp(ip + 37, target + 13, 3) != 0) {
        return V6Verdict::kDrop;
      }
    }
    // ND proxy: a known target whose MAC is not the asker's own (that would
    // tell a DAD probe its address is taken) is answered here.
    Neighbour6Key key;
    key.vni = pr.vni;
    std::memcpy(key.ip, target, 16);
    void* data = nullptr;
    if (rte_hash_lookup_data(t.neighbour6_hash(), &key, &data) < 0) return V6Verdict::kForward;
    const std::uint64_t mac = reinterpret_cast<std::uintptr_t>(data) & kNeighbourMacMask;
    if (mac == pr.mac_u64 || !make_na(m, f, mac)) return V6Verdict::kForward;
    count(Counter::nd_proxied);
    return V6Verdict::kReply;
  }

  // ---- endpoint ingress
  void endpoint(PortId port, rte_mbuf** pkts, std::uint16_t n) {
    count(Counter::rx_endpoint, n);
    count_port(port, PortCounter::rx_packets, n);
    // Start fetching every frame's first cache line now; the burst's
    // classification below reaches them a few hundred cycles later.
    std::uint64_t rx_bytes = 0;
    n = prepare(pkts, n, rx_bytes);
    count_port(port, PortCounter::rx_bytes, rx_bytes);

    const PortRecord* pr = t.port(port);
    const NetworkRecord* net = pr != nullptr ? t.network_at(pr->network_slot) : nullptr;
    if (net == nullptr) {
      count(Counter::unknown_port, n);
      rte_pktmbuf_free_bulk(pkts, n);
      return;
    }
    const std::uint32_t slot = net->slot;
    count_net(slot, NetCounter::from_endpoints, n);

    std::uint16_t next[kBurstSize];
    std::uint16_t reason[kBurstSize];
    std::uint64_t keys[kBurstSize];
    const void* key_ptrs[kBurstSize];
    std::uint8_t key_of[kBurstSize];  // packet index -> key index
    std::uint32_t n_keys = 0;
    const std::uint64_t slot_bits = mac_key(pr->network_slot, 0);

    for (std::uint16_t i = 0; i < n; ++i) {
      rte_mbuf* m = pkts[i];
      const std::uint32_t len = rte_pktmbuf_data_len(m);
      auto* f = rte_pktmbuf_mtod(m, std::uint8_t*);
      next[i] = kNextDrop;
      if (len < kEthSize) {
        reason[i] = static_cast<std::uint16_t>(Counter::truncated);
        continue;
      }
      if (load_mac(f + 6) != pr->mac_u64) {
        reason[i] = static_cast<std::uint16_t>(Counter::spoofed_src_mac);
        continue;
      }
      const std::uint16_t type = load_be16(f + 12);
      if (type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQOld) {
        reason[i] = static_cast<std::uint16_t>(Counter::vlan_tagged);
        continue;
      }
      if (type == kEtherIpv4) {
        if (len < kEthSize + 20) {
          reason[i] = static_cast<std::uint16_t>(Counter::truncated);
          continue;
        }
        const std::uint32_t src = load_u32(f + kEthSize + 12);
        bool own = false;
        for (std::uint32_t k = 0; k < pr->ip_count; ++k) own |= pr->ips_be[k] == src;
        if (!own) {
          reason[i] = static_cast<std::uint16_t>(Counter::spoofed_src_ip);
          continue;
        }
      } else if (type == kEtherArp) {
        if (len < kEthSize + kArpSize) {
          reason[i] = static_cast<std::uint16_t>(Counter::truncated);
          continue;
        }
        const std::uint8_t* arp = f + kEthSize;
        if (load_be16(arp) != 1 || load_be16(arp + 2) != kEtherIpv4 || arp[4] != 6 || arp[5] != 4) {
          reason[i] = static_cast<std::uint16_t>(Counter::bad_arp);
          continue;
        }
        if (load_mac(arp + 8) != pr->mac_u64) {
          reason[i] = static_cast<std::uint16_t>(Counter::spoofed_src_mac);
          continue;
        }
        const std::uint32_t spa = load_u32(arp + 14);
        bool own = spa == 0;  // RFC 5227 probe
        for (std::uint32_t k = 0; k < pr->ip_count; ++k) own |= pr->ips_be[k] == spa;
        if (!own) {
          reason[i] = static_cast<std::uint16_t>(Counter::spoofed_src_ip);
          continue;
        }
        const std::uint16_t op = load_be16(arp + 6);
        const std::uint32_t tpa = load_u32(arp + 24);
        if (op == 1 && tpa != spa) {
          // A request for a known IP is answered here; never flooded.
          const std::uint64_t nk = (std::uint64_t{pr->vni} << 32) | rte_be_to_cpu_32(tpa);
          void* data = nullptr;
          // Never answer an endpoint with its own MAC: that would fake an
          // address conflict for a duplicate-address probe (RFC 5227).
          if (rte_hash_lookup_data(t.neighbour_hash(), &nk, &data) >= 0 &&
              (reinterpret_cast<std::uintptr_t>(data) & kNeighbourMacMask) != pr->mac_u64) {
            make_arp_reply(f, reinterpret_cast<std::uintptr_t>(data) & kNeighbourMacMask);
            count(Counter::arp_proxied);
            next[i] = port;
            reason[i] = 0xffff;  // marks "ARP reply back to the ingress port"
            continue;
          }
        }
      } else if (type == kEtherIpv6) {
        Counter why = Counter::truncated;
        const V6Verdict v = ipv6_from_endpoint(m, f, len, *pr, why);
        if (v == V6Verdict::kDrop) {
          reason[i] = static_cast<std::uint16_t>(why);
          continue;
        }
        if (v == V6Verdict::kReply) {
          next[i] = port;  // the Neighbor Advertisement goes back out of the ingress port
          continue;
        }
      }
      const std::uint64_t dst = load_mac(f);
      if ((dst >> 40) & 1) {  // group bit: broadcast / multicast
        next[i] = kNextFlood;
        continue;
      }
      keys[n_keys] = slot_bits | dst;
      key_of[i] = static_cast<std::uint8_t>(n_keys++);
      next[i] = kNextRemote;  // resolved below
    }

    std::uint64_t hits = 0;
    void* data[kBurstSize];
    if (n_keys != 0) {
      lookup_bulk(t.mac_hash(), keys, key_ptrs, n_keys, &hits, data);
    }

    for (std::uint16_t i = 0; i < n; ++i) {
      rte_mbuf* m = pkts[i];
      switch (next[i]) {
        case kNextDrop:
          count_net(slot, NetCounter::dropped);
          drop(m, static_cast<Counter>(reason[i]));
          break;
        case kNextFlood:
          flood(m, net, port, true);
          break;
        case kNextRemote: {
          const std::uint32_t k = key_of[i];
          if (((hits >> k) & 1) == 0) {
            if (net->flood_unknown) {
              flood(m, net, port, true);
            } else {
              count_net(slot, NetCounter::dropped);
              drop(m, Counter::unknown_unicast);
            }
            break;
          }
          const std::uint64_t d = reinterpret_cast<std::uintptr_t>(data[k]);
          if ((d & MacDest::kKindMask) == MacDest::kLocal) {
            const PortId out = static_cast<PortId>(d & 0xffff);
            if (out == port) {
              count_net(slot, NetCounter::dropped);
              drop(m, Counter::hairpin);
            } else {
              count(Counter::local_switched);
              count_net(slot, NetCounter::to_endpoints);
              send(out, m);
            }
            break;
          }
          const VtepRecord* v = t.vtep_at(static_cast<std::uint32_t>(d & 0xffffffffu));
          const std::uint16_t sport = src_port(rte_pktmbuf_mtod(m, const std::uint8_t*), rte_pktmbuf_data_len(m));
          if (encap(m, v, pr->vni, sport)) {
            count(Counter::encap);
            count_net(slot, NetCounter::encap);
            send(p.config_.uplink_port, m);
          } else {
            count_net(slot, NetCounter::dropped);
          }
          break;
        }
        default:  // ARP reply or Neighbor Advertisement back out of the ingress port
          count_net(slot, NetCounter::to_endpoints);
          send(next[i], m);
          break;
      }
    }
    flush_all();
  }

  // ---- uplink ingress
  void uplink(rte_mbuf** pkts, std::uint16_t n) {
    count(Counter::rx_uplink, n);
    const PortId uplink_port = p.config_.uplink_port;
    count_port(uplink_port, PortCounter::rx_packets, n);
    std::uint64_t rx_bytes = 0;
    n = prepare(pkts, n, rx_bytes);
    count_port(uplink_port, PortCounter::rx_bytes, rx_bytes);

    const std::uint64_t our_mac = p.config_.underlay.uplink_mac.to_u64();
    const std::uint32_t our_ip_be = rte_cpu_to_be_32(p.config_.underlay.vtep_ip.value);
    const std::uint16_t udp_port = p.config_.underlay.udp_port;

    std::uint16_t next[kBurstSize];
    std::uint16_t reason[kBurstSize];
    Vni vnis[kBurstSize];
    std::uint64_t keys[kBurstSize];
    const void* key_ptrs[kBurstSize];
    std::uint32_t n_keys = 0;
    std::uint8_t key_of[kBurstSize];
    rte_mbuf* slow[kBurstSize];
    std::uint32_t n_slow = 0;

    for (std::uint16_t i = 0; i < n; ++i) {
      rte_mbuf* m = pkts[i];
      const std::uint32_t len = rte_pktmbuf_data_len(m);
      const std::uint8_t* f = rte_pktmbuf_mtod(m, const std::uint8_t*);
      next[i] = kNextDrop;
      auto fail = [&](Counter c) { reason[i] = static_cast<std::uint16_t>(c); };
      if (len < kEthSize) {
        fail(Counter::truncated);
        continue;
      }
      const std::uint16_t type = load_be16(f + 12);
      if (type == kEtherArp) {
        if (len < kEthSize + kArpSize) {
          fail(Counter::truncated);
        } else if (load_u32(f + kEthSize + 24) != our_ip_be) {
          fail(Counter::arp_not_for_us);
        } else {
          slow[n_slow++] = m;
          next[i] = kNextDone;
        }
        continue;
      }
      if (type != kEtherIpv4) {
        fail(Counter::not_vxlan);
        continue;
      }
      const std::uint64_t dst_mac = load_mac(f);
      if (dst_mac != our_mac && ((dst_mac >> 40) & 1) == 0) {
        fail(Counter::not_for_us);
        continue;
      }
      if (len < kEthSize + 20) {
        fail(Counter::truncated);
        continue;
      }
      const std::uint8_t* ip = f + kEthSize;
      const std::uint32_t ihl = (ip[0] & 0x0fu) * 4;
      if ((ip[0] >> 4) != 4 || ihl < 20) {
        fail(Counter::bad_ip_header);
        continue;
      }
      const std::uint32_t total = load_be16(ip + 2);
      if (len < kEthSize + ihl) {
        fail(Counter::truncated);
        continue;
      }
      if (total < ihl) {
        fail(Counter::bad_ip_header);
        continue;
      }
      if (kEthSize + total > rte_pktmbuf_pkt_len(m)) {
        fail(Counter::truncated);
        continue;
      }
      if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) != RTE_MBUF_F_RX_IP_CKSUM_GOOD && !ipv4_checksum_ok(ip, ihl)) {
        fail(Counter::bad_ip_checksum);
        continue;
      }
      if (load_u32(ip + 16) != our_ip_be) {
        fail(Counter::not_for_us);
        continue;
      }
      if ((load_be16(ip + 6) & 0x3fff) != 0) {  // MF or fragment offset
        fail(Counter::ip_fragment);
        continue;
      }
      if (ip[9] != 17) {
        fail(Counter::not_vxlan);
        continue;
      }
      if (total < ihl + 8 || len < kEthSize + ihl + 8) {
        fail(Counter::truncated);
        continue;
      }
      const std::uint8_t* udp = ip + ihl;
      if (load_be16(udp + 2) != udp_port) {
        fail(Counter::not_vxlan);
        continue;
      }
      // The UDP checksum is deliberately not verified (FACTS.md: kernel peers
      // over veth leave it partial; RFC 7348 makes it optional).
      const std::uint32_t udp_len = load_be16(udp + 4);
      if (udp_len < 8 + 8 + kEthSize || udp_len > total - ihl || len < kEthSize + ihl + 16 + kEthSize) {
        fail(Counter::truncated);
        continue;
      }
      const std::uint8_t* vx = udp + 8;
      if ((vx[0] & 0x08) == 0) {
        fail(Counter::bad_vxlan_flags);
        continue;
      }
      const Vni vni = load_be32(vx + 4) >> 8;
      vnis[i] = vni;
      keys[n_keys] = (std::uint64_t{vni} << 32) | load_be32(ip + 12);
      key_of[i] = static_cast<std::uint8_t>(n_keys++);
      next[i] = kNextRemote;
    }

    if (n_slow != 0) {
      const unsigned queued = rte_ring_mp_enqueue_burst(p.slow_rx_, reinterpret_cast<void**>(slow), n_slow, nullptr);
      count(Counter::slow_path, queued);
      if (queued < n_slow) {
        count(Counter::slow_path_full, n_slow - queued);
        rte_pktmbuf_free_bulk(slow + queued, n_slow - queued);
      }
    }

    // Peer lookup: (VNI, outer source IP) -> network slot.
    std::uint64_t hits = 0;
    void* data[kBurstSize];
    if (n_keys != 0) lookup_bulk(t.peer_hash(), keys, key_ptrs, n_keys, &hits, data);

    // Strip the outer headers, then collect inner destinations.
    const NetworkRecord* nets[kBurstSize];
    std::uint32_t n_mac_keys = 0;
    std::uint8_t mac_key_of[kBurstSize];
    for (std::uint16_t i = 0; i < n; ++i) {
      if (next[i] != kNextRemote) continue;
      const std::uint32_t k = key_of[i];
      rte_mbuf* m = pkts[i];
      if (((hits >> k) & 1) == 0) {
        const std::uint32_t vni_key = vnis[i];
        next[i] = kNextDrop;
        reason[i] = static_cast<std::uint16_t>(rte_hash_lookup(t.vni_hash(), &vni_key) >= 0 ? Counter::unknown_src_vtep
                                                                                            : Counter::unknown_vni);
        continue;
      }
      const NetworkRecord* net = t.network_at(static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(data[k])));
      if (net == nullptr) {
        next[i] = kNextDrop;
        reason[i] = static_cast<std::uint16_t>(Counter::unknown_vni);
        continue;
      }
      nets[i] = net;
      const std::uint8_t* ip = rte_pktmbuf_mtod_offset(m, const std::uint8_t*, kEthSize);
      const std::uint32_t ihl = (ip[0] & 0x0fu) * 4;
      const std::uint32_t inner_len = load_be16(ip + ihl + 4) - 16u;
      rte_pktmbuf_adj(m, static_cast<std::uint16_t>(kEthSize + ihl + 16));
      if (rte_pktmbuf_pkt_len(m) > inner_len) {
        rte_pktmbuf_trim(m, static_cast<std::uint16_t>(rte_pktmbuf_pkt_len(m) - inner_len));
      }
      count(Counter::decap);
      count_net(net->slot, NetCounter::decap);
      const std::uint64_t dst = load_mac(rte_pktmbuf_mtod(m, const std::uint8_t*));
      if ((dst >> 40) & 1) {
        next[i] = kNextFlood;
        continue;
      }
      keys[n_mac_keys] = mac_key(net->slot, dst);
      mac_key_of[i] = static_cast<std::uint8_t>(n_mac_keys++);
    }

    std::uint64_t mac_hits = 0;
    if (n_mac_keys != 0) lookup_bulk(t.mac_hash(), keys, key_ptrs, n_mac_keys, &mac_hits, data);

    for (std::uint16_t i = 0; i < n; ++i) {
      rte_mbuf* m = pkts[i];
      switch (next[i]) {
        case kNextDone:
          break;
        case kNextDrop:
          drop(m, static_cast<Counter>(reason[i]));
          break;
        case kNextFlood:
          flood(m, nets[i], kInvalidPort, false);
          break;
        default: {  // kNextRemote: deliver by inner destination
          const std::uint32_t k = mac_key_of[i];
          const std::uint64_t d = reinterpret_cast<std::uintptr_t>(data[k]);
          if (((mac_hits >> k) & 1) == 0 || (d & MacDest::kKindMask) != MacDest::kLocal) {
            count_net(nets[i]->slot, NetCounter::dropped);
            drop(m, Counter::unknown_inner_dst);
            break;
          }
          count_net(nets[i]->slot, NetCounter::to_endpoints);
          send(static_cast<PortId>(d & 0xffff), m);
          break;
        }
      }
    }
    flush_all();
  }
};

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
  while (n > 0) {
    const std::uint16_t chunk = std::min(n, kBurstSize);
    b.uplink(pkts, chunk);
    pkts += chunk;
    n = static_cast<std::uint16_t>(n - chunk);
  }
}

void Pipeline::drain_injected(LcoreContext& ctx) {
  rte_mbuf* frames[kBurstSize];
  const unsigned n = rte_ring_sc_dequeue_burst(slow_tx_, reinterpret_cast<void**>(frames), kBurstSize, nullptr);
  if (n == 0) return;
  Burst b(*this, ctx);
  b.count(Counter::injected, n);
  for (unsigned i = 0; i < n; ++i) b.send(config_.uplink_port, frames[i]);
  b.flush_all();
}

}  // namespace ferry::dataplane
