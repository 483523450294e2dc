// Super-frame rows: segmenting and coalescing a 64 KB TCP super-frame from
// memory on this core (see superframe_bench.h).
//
// Method. Segmentation: one super-frame (an mbuf chain of 2 KB mbufs, as a
// port receiving into the default pool hands it over, the TCP checksum field
// holding the pseudo-header sum) is segmented again and again; each round
// takes an extra reference on its mbufs first, so the segmenter's "consume"
// leaves them for the next round (32 atomic increments and decrements, about
// 0.6 us of the figure), and frees the segments it made. Coalescing:
// the segments Linux's GSO would make of the same super-frame (single mbufs
// with full checksums) are merged back into one; each round restores the
// first segment's headers and every mbuf's data offset and length. Both
// resets are inside the timed loop (a few hundred cycles per super-frame).
// Time is this thread's CPU time; Gbit/s counts TCP payload.
#include "bench/pipeline/superframe_bench.h"

#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>

#include "bench/command.h"
#include "dataplane/core/checksum.h"
#include "dataplane/core/coalesce.h"
#include "dataplane/core/counters.h"
#include "dataplane/core/pipeline.h"
#include "dataplane/core/segment.h"

namespace ferry::bench {
namespace {

using Bytes = std::vector<std::uint8_t>;
using dataplane::Coalescer;
using dataplane::LcoreCounters;
using dataplane::SegmentConfig;
using dataplane::Segmenter;

constexpr std::uint16_t kMss = 1398;         // a Ferry container's MTU 1450, with timestamps
constexpr std::size_t kPayload = 46 * kMss;  // 64 308 B: the bulk super-frame of tests/data/gso

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void put16(std::uint8_t* p, std::uint16_t v) { dataplane::store_be16(p, v); }

// Ethernet/IPv4/TCP (timestamps) with `payload` bytes, checksum field
// partial: from container 10.1.0.1 (MAC 02:00:0a:01:00:01) to 10.1.0.2
// (..:02), or the other way with `reply`.
Bytes tcp_superframe(std::size_t payload, bool reply = false) {
  Bytes f(14 + 20 + 32 + payload);
  std::uint8_t* p = f.data();
  const std::uint8_t macs[12] = {2, 0, 10, 1, 0, 2, 2, 0, 10, 1, 0, 1};
  std::memcpy(p, macs + (reply ? 6 : 0), 6);
  std::memcpy(p + 6, macs + (reply ? 0 : 6), 6);
  put16(p + 12, 0x0800);
  std::uint8_t* ip = p + 14;
  ip[0] = 0x45;
  put16(ip + 2, static_cast<std::uint16_t>(20 + 32 + payload));
  put16(ip + 4, 0x1234);
  ip[6] = 0x40;
  ip[8] = 64;
  ip[9] = 6;
  dataplane::store_be32(ip + (reply ? 16 : 12), 0x0a010001);
  dataplane::store_be32(ip + (reply ? 12 : 16), 0x0a010002);
  dataplane::store16(ip + 10, dataplane::ipv4_header_checksum(ip));
  std::uint8_t* th = ip + 20;
  put16(th, 40000);
  put16(th + 2, 5201);
  dataplane::store_be32(th + 4, 1000);
  dataplane::store_be32(th + 8, 2000);
  th[12] = 0x80;
  th[13] = 0x18;
  put16(th + 14, 500);
  const std::uint8_t ts[12] = {1, 1, 8, 10, 0, 1, 2, 3, 0, 4, 5, 6};
  std::memcpy(th + 20, ts, 12);
  for (std::size_t i = 0; i < payload; ++i) th[32 + i] = static_cast<std::uint8_t>(i * 7 + 3);
  dataplane::store16(th + 16, dataplane::pseudo_header_ipv4(ip, 6, static_cast<std::uint32_t>(32 + payload)));
  return f;
}

// `inner` in Ethernet/IPv4/UDP/VXLAN from VTEP 172.31.0.1 (MAC
// 02:fe:00:00:00:01) to 172.31.0.2 (..:02), or the other way with `reply`;
// outer id 0 (DF), UDP checksum 0 (the outer IPv4 checksum is left to the
// segmenter: TX_OUTER_IP_CKSUM).
Bytes vxlan(const Bytes& inner, bool reply = false) {
  Bytes f(50 + inner.size(), 0);
  std::uint8_t* p = f.data();
  const std::uint8_t macs[12] = {2, 0xfe, 0, 0, 0, 2, 2, 0xfe, 0, 0, 0, 1};
  std::memcpy(p, macs + (reply ? 6 : 0), 6);
  std::memcpy(p + 6, macs + (reply ? 0 : 6), 6);
  put16(p + 12, 0x0800);
  std::uint8_t* ip = p + 14;
  ip[0] = 0x45;
  put16(ip + 2, static_cast<std::uint16_t>(36 + inner.size()));
  ip[6] = 0x40;
  ip[8] = 64;
  ip[9] = 17;
  dataplane::store_be32(ip + (reply ? 16 : 12), 0xac1f0001);
  dataplane::store_be32(ip + (reply ? 12 : 16), 0xac1f0002);
  put16(p + 34, 50000);
  put16(p + 36, 4789);
  put16(p + 38, static_cast<std::uint16_t>(16 + inner.size()));
  p[42] = 0x08;
  dataplane::store_be32(p + 46, 4242u << 8);
  std::memcpy(p + 50, inner.data(), inner.size());
  return f;
}

rte_mbuf* chain(rte_mempool* pool, const Bytes& f, std::size_t piece) {
  rte_mbuf* head = nullptr;
  for (std::size_t at = 0; at < f.size(); at += piece) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) return nullptr;
    const std::size_t take = std::min(piece, f.size() - at);
    std::memcpy(rte_pktmbuf_append(m, static_cast<std::uint16_t>(take)), f.data() + at, take);
    if (head == nullptr) {
      head = m;
    } else {
      rte_pktmbuf_chain(head, m);
    }
  }
  return head;
}

// `f` (a TCP super-frame, VXLAN-encapsulated when `tunnel`) in a chain of
// 2 KB mbufs with the TSO metadata a port hands the segmenter; nullptr when
// the pool is empty.
rte_mbuf* superframe(rte_mempool* pool, const Bytes& f, bool tunnel) {
  rte_mbuf* m = chain(pool, f, 2048);
  if (m == nullptr) return nullptr;
  m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG;
  m->l2_len = 14;
  m->l3_len = 20;
  m->l4_len = 32;
  m->tso_segsz = kMss;
  if (tunnel) {
    m->ol_flags |= RTE_MBUF_F_TX_TUNNEL_VXLAN | RTE_MBUF_F_TX_OUTER_IPV4 | RTE_MBUF_F_TX_OUTER_IP_CKSUM;
    m->outer_l2_len = 14;
    m->outer_l3_len = 20;
    m->l2_len = 30;
  }
  return m;
}

struct Timer {
  double cpu = 0;
  std::uint64_t frames = 0;
};

// Calls `round` (one super-frame each) until `seconds` of CPU time passed,
// after one untimed warm-up batch.
template <typename Fn>
Timer measure(double seconds, Fn&& round) {
  Timer t;
  for (int i = 0; i < 64; ++i) round();
  while (t.cpu < seconds) {
    const double c0 = thread_cpu_seconds();
    for (int i = 0; i < 256; ++i) round();
    t.cpu += thread_cpu_seconds() - c0;
    t.frames += 256;
  }
  return t;
}

SuperframeResult row(const char* op, const char* variant, unsigned bytes, unsigned segments, std::size_t payload,
                     const Timer& t) {
  const double per = t.cpu / static_cast<double>(t.frames);
  return {op,
          variant,
          bytes,
          segments,
          per * 1e9,
          static_cast<double>(payload) * 8 / per / 1e9,
          per * static_cast<double>(rte_get_tsc_hz())};
}

struct PoolDeleter {
  void operator()(rte_mempool* p) const { rte_mempool_free(p); }
};
using Pool = std::unique_ptr<rte_mempool, PoolDeleter>;

// The whole pipeline on one core, host 172.31.0.1 with container 10.1.0.1 on
// port 1 (a vnet port: takes TCP super-frames and partial checksums) and the
// peer container 10.1.0.2 behind VTEP 172.31.0.2; the uplink (port 0) takes
// VXLAN super-frames whole, as the kernel-UDP uplink does. The TX function
// keeps what it is handed: the bench owns every mbuf and reuses it.
class PipelineRig {
 public:
  static constexpr dataplane::PortId kUplink = 0;
  static constexpr dataplane::PortId kPort = 1;

  Result<void> open(rte_mempool* pool, const std::string& tag) {
    dataplane::PipelineConfig cfg;
    cfg.underlay.vtep_ip = dataplane::Ipv4Addr{0xac1f0001};
    cfg.underlay.uplink_mac = dataplane::MacAddr{{2, 0xfe, 0, 0, 0, 1}};
    cfg.uplink_port = kUplink;
    cfg.underlay_mtu = 1500;
    cfg.tables.name = "sf_pipe" + tag;
    cfg.tables.mac_capacity = 1024;
    cfg.tables.neighbour_capacity = 1024;
    cfg.tables.vtep_capacity = 64;
    cfg.tables.max_workers = 1;
    auto p = dataplane::Pipeline::create(cfg);
    if (!p) return p.error();
    pipeline_ = std::move(*p);
    auto& t = pipeline_->tables();
    const dataplane::Ipv4Addr peer{0xac1f0002};
    for (const auto& r :
         {t.add_network(4242, false),
          t.add_port(dataplane::EndpointPort{
              kPort, 4242, dataplane::MacAddr{{2, 0, 10, 1, 0, 1}}, {dataplane::Ipv4Addr{0x0a010001}}}),
          t.add_remote_mac(4242, dataplane::MacAddr{{2, 0, 10, 1, 0, 2}}, peer), t.add_flood_vtep(4242, peer),
          t.set_vtep_next_hop(peer, dataplane::MacAddr{{2, 0xfe, 0, 0, 0, 2}})}) {
      if (!r) return r.error();
    }
    pipeline_->set_port_tx_caps(kUplink, dataplane::kTxCapTunnelTso | dataplane::kTxCapTunnelL4Csum);
    pipeline_->set_port_tx_caps(kPort, dataplane::kTxCapTso | dataplane::kTxCapL4Csum);
    auto ctx = pipeline_->make_lcore(0, 0, pool);
    if (!ctx) return ctx.error();
    ctx_ = std::move(*ctx);
    ctx_->set_tx(&PipelineRig::keep, this);
    return ok();
  }
  ~PipelineRig() {
    if (ctx_) pipeline_->release_lcore(*ctx_);
  }

  dataplane::Pipeline& pipeline() { return *pipeline_; }
  dataplane::LcoreContext& ctx() { return *ctx_; }
  // What the last call handed to the ports.
  std::uint16_t sent = 0;
  rte_mbuf* last = nullptr;
  dataplane::PortId last_port = 0;

 private:
  static std::uint16_t keep(void* arg, dataplane::PortId port, std::uint16_t /*queue*/, rte_mbuf** pkts,
                            std::uint16_t n) {
    auto* rig = static_cast<PipelineRig*>(arg);
    rig->sent = static_cast<std::uint16_t>(rig->sent + n);
    rig->last = pkts[n - 1];
    rig->last_port = port;
    return n;
  }

  std::unique_ptr<dataplane::Pipeline> pipeline_;
  std::unique_ptr<dataplane::LcoreContext> ctx_;
};

// A frame's first mbuf as it was, to put it back before each round.
struct HeadState {
  std::uint16_t data_off, data_len;
  std::uint32_t pkt_len;
  std::uint64_t ol_flags, tx_offload;
  explicit HeadState(const rte_mbuf* m)
      : data_off(m->data_off),
        data_len(m->data_len),
        pkt_len(m->pkt_len),
        ol_flags(m->ol_flags),
        tx_offload(m->tx_offload) {}
  void restore(rte_mbuf* m) const {
    m->data_off = data_off;
    m->data_len = data_len;
    m->pkt_len = pkt_len;
    m->ol_flags = ol_flags;
    m->tx_offload = tx_offload;
  }
};

// The two pipeline rows; "" or what went wrong.
std::string pipeline_rows(rte_mempool* frames, rte_mempool* headers, rte_mempool* indirect, LcoreCounters* counters,
                          const std::string& tag, double seconds, std::vector<SuperframeResult>& rows) {
  PipelineRig rig;
  if (auto r = rig.open(frames, tag); !r) return "super-frame bench: pipeline: " + r.error().message;
  const std::uint64_t drops_before = rig.pipeline().stats().total_drops();

  // Out: the container's super-frame (a vnet port's chain of 2 KB mbufs)
  // encapsulated whole for the uplink.
  {
    const Bytes plain = tcp_superframe(kPayload);
    rte_mbuf* m = superframe(frames, plain, false);
    if (m == nullptr) return "super-frame bench: frame pool empty";
    const HeadState head(m);
    bool wrong = false;
    const Timer t = measure(seconds, [&] {
      head.restore(m);
      rig.sent = 0;
      rte_mbuf* burst[1] = {m};
      rig.pipeline().process_endpoint(rig.ctx(), PipelineRig::kPort, burst, 1);
      wrong |= rig.sent != 1 || rig.last != m || rig.last_port != PipelineRig::kUplink;
      rig.ctx().quiescent();
    });
    head.restore(m);
    rte_pktmbuf_free(m);
    if (wrong) return "super-frame bench: the pipeline did not hand the super-frame to the uplink whole";
    rows.push_back(
        row("pipeline", "endpoint -> encap whole -> uplink", static_cast<unsigned>(plain.size()), 1, kPayload, t));
  }

  // In: the peer's 46 VXLAN segments (as the kernel cuts its super-frame),
  // decapsulated and coalesced into one super-frame for the vnet port.
  {
    const Bytes reply = vxlan(tcp_superframe(kPayload, true), true);
    auto seg = Segmenter::create(SegmentConfig{2048}, headers, indirect, counters);
    if (!seg) return seg.error().message;
    rte_mbuf* m = superframe(frames, reply, true);
    if (m == nullptr) return "super-frame bench: frame pool empty";
    // The segments a NIC hands over carry complete checksums.
    m->ol_flags |= RTE_MBUF_F_TX_OUTER_IP_CKSUM;
    rte_mbuf* segs[dataplane::kMaxSegments];
    const auto r = seg->segment(m, segs, dataplane::kMaxSegments);
    if (r.drop || r.count > dataplane::kUplinkBurstSize) return "super-frame bench: cannot make the VXLAN segments";
    const std::uint16_t n = r.count;
    std::vector<HeadState> state;
    state.reserve(n);
    for (std::uint16_t i = 0; i < n; ++i) {
      segs[i]->ol_flags = 0;
      segs[i]->tx_offload = 0;
      state.emplace_back(segs[i]);
    }
    constexpr std::size_t kHeaders = 50 + 66;
    Bytes first(kHeaders);
    std::memcpy(first.data(), rte_pktmbuf_mtod(segs[0], const void*), kHeaders);
    bool wrong = false;
    rte_mbuf* burst[dataplane::kUplinkBurstSize];
    const Timer t = measure(seconds, [&] {
      for (std::uint16_t i = 0; i < n; ++i) {
        state[i].restore(segs[i]);
        segs[i]->next = nullptr;
        segs[i]->nb_segs = 1;
        burst[i] = segs[i];
      }
      std::memcpy(rte_pktmbuf_mtod(segs[0], void*), first.data(), kHeaders);
      rig.sent = 0;
      rig.pipeline().process_uplink(rig.ctx(), burst, n);
      wrong |= rig.sent != 1 || rig.last_port != PipelineRig::kPort;
      rig.ctx().quiescent();
    });
    for (std::uint16_t i = 0; i < n; ++i) {
      state[i].restore(segs[i]);
      segs[i]->next = nullptr;
      segs[i]->nb_segs = 1;
    }
    rte_pktmbuf_free_bulk(segs, n);
    if (wrong) return "super-frame bench: the peer's segments did not reach the port as one super-frame";
    rows.push_back(
        row("pipeline", "uplink segs -> decap+coalesce -> port", static_cast<unsigned>(reply.size()), n, kPayload, t));
  }
  if (rig.pipeline().stats().total_drops() != drops_before) return "super-frame bench: the pipeline dropped frames";
  return {};
}

}  // namespace

std::vector<SuperframeResult> run_superframe_cases(double seconds, std::string& error) {
  std::vector<SuperframeResult> rows;
  static int instance = 0;
  const std::string tag = std::to_string(instance++);
  Pool frames(
      rte_pktmbuf_pool_create(("sf_frames" + tag).c_str(), 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY));
  Pool headers(
      rte_pktmbuf_pool_create(("sf_headers" + tag).c_str(), 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY));
  Pool indirect(rte_pktmbuf_pool_create(("sf_indirect" + tag).c_str(), 8191, 256, 0, 0, SOCKET_ID_ANY));
  if (!frames || !headers || !indirect) {
    error = "super-frame bench: cannot create mempools";
    return rows;
  }
  auto counters = std::make_unique<LcoreCounters>();

  // ---- segmentation
  const Bytes plain = tcp_superframe(kPayload);
  const Bytes tunnel = vxlan(plain);
  struct SegCase {
    const char* variant;
    const Bytes* frame;
    bool tunnel;
    std::uint16_t copy_max;
  };
  const SegCase seg_cases[] = {
      {"reference payload (indirect mbufs)", &plain, false, 0},
      {"copy tails <= 256 B, reference others", &plain, false, 256},
      {"copy payload (default)", &plain, false, SegmentConfig{}.copy_max},
      {"VXLAN, reference payload", &tunnel, true, 0},
      {"VXLAN, copy payload (default)", &tunnel, true, SegmentConfig{}.copy_max},
  };
  for (const SegCase& c : seg_cases) {
    auto seg = Segmenter::create(SegmentConfig{c.copy_max}, headers.get(), indirect.get(), counters.get());
    if (!seg) {
      error = seg.error().message;
      return rows;
    }
    rte_mbuf* m = superframe(frames.get(), *c.frame, c.tunnel);
    if (m == nullptr) {
      error = "super-frame bench: frame pool empty";
      return rows;
    }
    rte_mbuf* out[dataplane::kMaxSegments];
    std::uint16_t made = 0;
    std::optional<dataplane::Counter> failed;
    const Timer t = measure(seconds, [&] {
      for (rte_mbuf* s = m; s != nullptr; s = s->next) rte_mbuf_refcnt_update(s, 1);
      const auto r = seg->segment(m, out, dataplane::kMaxSegments);
      if (r.drop) failed = r.drop;
      made = r.count;
      rte_pktmbuf_free_bulk(out, r.count);
    });
    rte_pktmbuf_free(m);
    if (failed) {
      error = std::string("super-frame bench: segmentation dropped the super-frame: ") +
              std::string(dataplane::counter_name(*failed));
      return rows;
    }
    rows.push_back(row("segment", c.variant, static_cast<unsigned>(c.frame->size()), made, kPayload, t));
  }

  // ---- gathering (SegmentGather, what the kernel-UDP uplink does): each
  // segment's headers written, its payload slices summed, nothing copied
  for (const bool tunnel_case : {false, true}) {
    const Bytes& frame = tunnel_case ? tunnel : plain;
    rte_mbuf* m = superframe(frames.get(), frame, tunnel_case);
    if (m == nullptr) {
      error = "super-frame bench: frame pool empty";
      return rows;
    }
    dataplane::SegmentGather gather;
    std::vector<std::uint8_t> header_area(std::size_t{dataplane::kMaxSegments} * 192);
    std::vector<iovec> slices(std::size_t{dataplane::kMaxSegments} + m->nb_segs);
    std::uint16_t made = 0;
    bool failed = false;
    const Timer t = measure(seconds, [&] {
      if (gather.start(m)) {
        failed = true;
        return;
      }
      std::uint32_t used = 0;
      for (std::uint16_t k = 0; k < gather.segments(); ++k) {
        used += gather.next(&header_area[std::size_t{k} * 192], &slices[used]).slices;
      }
      made = gather.segments();
    });
    rte_pktmbuf_free(m);
    if (failed) {
      error = "super-frame bench: SegmentGather refused the super-frame";
      return rows;
    }
    rows.push_back(row(
        "segment", tunnel_case ? "VXLAN, gathered (headers + payload slices)" : "gathered (headers + payload slices)",
        static_cast<unsigned>(frame.size()), made, kPayload, t));
  }

  // ---- coalescing: the kernel's segments of `plain`, back into one
  {
    auto seg = Segmenter::create(SegmentConfig{2048}, headers.get(), indirect.get(), counters.get());
    rte_mbuf* m = superframe(frames.get(), plain, false);
    if (m == nullptr) {
      error = "super-frame bench: frame pool empty";
      return rows;
    }
    rte_mbuf* segs[dataplane::kMaxSegments];
    const auto r = seg->segment(m, segs, dataplane::kMaxSegments);
    if (r.drop || r.count > 64) {
      error = "super-frame bench: cannot make the segments";
      return rows;
    }
    const std::uint16_t n = r.count;
    std::vector<std::uint16_t> data_off(n), data_len(n);
    Bytes first_headers(66);
    std::memcpy(first_headers.data(), rte_pktmbuf_mtod(segs[0], const void*), 66);
    for (std::uint16_t i = 0; i < n; ++i) {
      data_off[i] = segs[i]->data_off;
      data_len[i] = segs[i]->data_len;
    }
    const std::vector<std::uint32_t> keys(n, 1);
    for (bool trusted : {false, true}) {
      Coalescer coalescer(counters.get());
      rte_mbuf* burst[64];
      rte_mbuf* out[64];
      bool wrong = false;
      const Timer t = measure(seconds, [&] {
        for (std::uint16_t i = 0; i < n; ++i) {
          rte_mbuf* s = segs[i];
          s->data_off = data_off[i];
          s->data_len = data_len[i];
          s->pkt_len = data_len[i];
          s->next = nullptr;
          s->nb_segs = 1;
          s->ol_flags = trusted ? RTE_MBUF_F_RX_L4_CKSUM_GOOD : 0;
          burst[i] = s;
        }
        std::memcpy(rte_pktmbuf_mtod(segs[0], void*), first_headers.data(), 66);
        wrong |= coalescer.coalesce(burst, keys.data(), n, out) != 1;
      });
      if (wrong) {
        error = "super-frame bench: the segments did not coalesce into one frame";
        return rows;
      }
      rows.push_back(row("coalesce", trusted ? "checksums trusted (RX_L4_CKSUM_GOOD)" : "checksums verified",
                         static_cast<unsigned>(plain.size()), n, kPayload, t));
    }
    for (std::uint16_t i = 0; i < n; ++i) {
      segs[i]->next = nullptr;
      segs[i]->nb_segs = 1;
    }
    rte_pktmbuf_free_bulk(segs, n);
  }

  // ---- the checksum underneath: 64 KB summed
  {
    const Bytes buf(65536, 0x5a);
    volatile std::uint64_t sink = 0;
    struct SumCase {
      const char* variant;
      std::uint64_t (*fn)(const void*, std::size_t);
    };
    const SumCase sums[] = {
        {"csum_bytes", dataplane::csum_bytes},
        {"csum_bytes_scalar", dataplane::csum_bytes_scalar},
        {"rte_raw_cksum (DPDK 22.11)",
         [](const void* p, std::size_t n) -> std::uint64_t { return rte_raw_cksum(p, n); }},
    };
    for (const SumCase& c : sums) {
      const Timer t = measure(seconds, [&] { sink = sink + c.fn(buf.data(), buf.size()); });
      std::string variant = c.variant;
      if (c.fn == dataplane::csum_bytes) variant += std::string(" (") + dataplane::csum_implementation() + ")";
      rows.push_back(row("checksum", "", static_cast<unsigned>(buf.size()), 0, buf.size(), t));
      rows.back().variant = variant;
    }
  }

  // ---- the whole pipeline, both directions
  if (std::string e = pipeline_rows(frames.get(), headers.get(), indirect.get(), counters.get(), tag, seconds, rows);
      !e.empty()) {
    error = e;
  }
  return rows;
}

void print_superframe_table(const std::vector<SuperframeResult>& results) {
  std::printf(
      "| op       | variant                                | frame B | segs | ns/frame | Gbit/s | cycles/frame |\n");
  std::printf(
      "|----------|----------------------------------------|--------:|-----:|---------:|-------:|-------------:|\n");
  for (const auto& r : results) {
    std::printf("| %-8s | %-38s | %7u | %4u | %8.0f | %6.1f | %12.0f |\n", r.op.c_str(), r.variant.c_str(),
                r.frame_bytes, r.segments, r.ns_per_frame, r.gbit_per_s, r.cycles_per_frame);
  }
}

std::string superframe_json(const std::vector<SuperframeResult>& results) {
  std::string s = "[";
  char buf[512];
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    std::snprintf(buf, sizeof buf,
                  "%s{\"op\": \"%s\", \"variant\": \"%s\", \"frame_bytes\": %u, \"segments\": %u, "
                  "\"ns_per_frame\": %.0f, \"gbit_per_s\": %.2f, \"cycles_per_frame\": %.0f}",
                  i == 0 ? "" : ",\n  ", r.op.c_str(), r.variant.c_str(), r.frame_bytes, r.segments, r.ns_per_frame,
                  r.gbit_per_s, r.cycles_per_frame);
    s += buf;
  }
  return s + "]";
}

}  // namespace ferry::bench
