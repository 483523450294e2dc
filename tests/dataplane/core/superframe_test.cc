// Super-frames through the whole pipeline, against the kernel's own frames
// (tests/data/gso): a vnet-style super-frame from an endpoint leaves a port
// that cannot take it as the kernel's segments (inside VXLAN towards the
// uplink, plain to a local port) and whole with DPDK's metadata where the port
// takes it; the kernel's VXLAN segments arriving from the uplink leave as the
// kernel's super-frame for a port that takes TCP super-frames; every
// software-offload drop reason; RFC 6040 ECN both ways; coalescing never
// crosses networks.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <vector>

#include "dataplane/core/segment.h"
#include "tests/dataplane/core/gso_golden.h"
#include "tests/dataplane/core/harness.h"
#include "tests/dataplane/core/offload_support.h"

namespace ferry::dataplane::test {
namespace {

constexpr PortId kPeerPort = 2;
constexpr std::uint64_t kRequests = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG | RTE_MBUF_F_TX_L4_MASK;

// The two containers of the golden capture.
struct Endpoints {
  MacAddr sender, receiver;
  Ipv4Addr sender4, receiver4;
  Ipv6Addr sender6, receiver6;
};

MacAddr mac_at(const Bytes& f, std::size_t at) {
  MacAddr m;
  std::memcpy(m.bytes.data(), f.data() + at, 6);
  return m;
}

Endpoints endpoints(const std::vector<Golden>& golden) {
  Endpoints e;
  for (const Golden& g : golden) {
    const Bytes& f = g.super;
    e.receiver = mac_at(f, 0);
    e.sender = mac_at(f, 6);
    if (f[12] == 0x08) {
      e.sender4 = Ipv4Addr{get32(f, 26)};
      e.receiver4 = Ipv4Addr{get32(f, 30)};
    } else {
      std::memcpy(e.sender6.bytes.data(), f.data() + 22, 16);
      std::memcpy(e.receiver6.bytes.data(), f.data() + 38, 16);
    }
  }
  return e;
}

// Host A with the capture's sender as endpoint kLocalPort; the receiver is
// remote (VTEP B) or, with `local_peer`, endpoint kPeerPort.
void program(Harness& h, const Endpoints& e, bool local_peer) {
  ASSERT_TRUE(h.tables().add_network(kVni, false));
  ASSERT_TRUE(h.tables().add_port(EndpointPort{kLocalPort, kVni, e.sender, {e.sender4}, {e.sender6}}));
  if (local_peer) {
    ASSERT_TRUE(h.tables().add_port(EndpointPort{kPeerPort, kVni, e.receiver, {e.receiver4}, {e.receiver6}}));
  } else {
    ASSERT_TRUE(h.tables().add_remote_mac(kVni, e.receiver, kVtepB));
    ASSERT_TRUE(h.tables().set_vtep_next_hop(kVtepB, kRemoteHostMac));
  }
}

std::vector<Sent> take(Harness& h) {
  std::vector<Sent> out;
  out.swap(h.sent);
  h.ctx().quiescent();
  return out;
}

// The super-frame as a vnet endpoint hands it over: a chain (8000-byte
// pieces) with the metadata of its virtio-net header.
std::vector<Sent> send_super(Harness& h, const Golden& g, PortId from = kLocalPort) {
  rte_mbuf* m = h.chain(g.super, 8000, false);
  set_from_vnet(m, g);
  h.pipeline().process_endpoint(h.ctx(), from, &m, 1);
  return take(h);
}

Bytes inner_of(const Sent& s) { return Bytes(s.bytes.begin() + 50, s.bytes.end()); }

// The outer headers Ferry writes: towards VTEP B, DF, id 0, outer UDP
// checksum 0, the VNI, and the given ECN field; lengths from the frame.
void expect_outer(const Sent& s, std::uint8_t ecn, std::uint16_t sport) {
  const Bytes& b = s.bytes;
  ASSERT_GE(b.size(), 50u);
  EXPECT_EQ(mac_at(b, 0), kRemoteHostMac);
  EXPECT_EQ(mac_at(b, 6), kUplinkMac);
  EXPECT_EQ(get16(b, 12), 0x0800);
  EXPECT_EQ(b[14], 0x45);
  EXPECT_EQ(b[15], ecn);
  EXPECT_EQ(get16(b, 16), b.size() - 14);
  EXPECT_EQ(get16(b, 18), 0);       // id
  EXPECT_EQ(get16(b, 20), 0x4000);  // DF
  EXPECT_EQ(b[22], 64);
  EXPECT_EQ(b[23], 17);
  EXPECT_EQ(ip_checksum_fold(b.data() + 14, 20), 0xffff);
  EXPECT_EQ(get32(b, 26), kVtepA.value);
  EXPECT_EQ(get32(b, 30), kVtepB.value);
  EXPECT_EQ(get16(b, 34), sport);
  EXPECT_EQ(get16(b, 36), 4789);
  EXPECT_EQ(get16(b, 38), b.size() - 34);
  EXPECT_EQ(get16(b, 40), 0);  // outer UDP checksum
  EXPECT_EQ(b[42], 0x08);
  EXPECT_EQ(get32(b, 46) >> 8, kVni);
}

std::uint8_t ecn_of(const Bytes& f) { return f[12] == 0x08 ? f[15] & 3 : (f[15] >> 4) & 3; }

class SuperFrames : public testing::Test {
 protected:
  void SetUp() override {
    golden_ = load_golden();
    ASSERT_EQ(golden_.size(), 12u);
    e_ = endpoints(golden_);
  }
  std::vector<Golden> golden_;
  Endpoints e_;
};

// A vnet endpoint's super-frame towards a remote container, with an uplink
// that cannot take super-frames (af_xdp, af_packet, the kernel-UDP uplink):
// the kernel's own segments, each in VXLAN, checksums complete; the outer
// ECN field copied from the inner (RFC 6040), as the kernel's VXLAN did.
TEST_F(SuperFrames, ToAnUplinkWithoutTsoAsTheKernelsSegmentsInVxlan) {
  std::size_t checked = 0;
  for (const Golden& g : golden_) {
    SCOPED_TRACE(g.label);
    Harness h;
    ASSERT_NO_FATAL_FAILURE(program(h, e_, false));
    const auto sent = send_super(h, g);
    ASSERT_EQ(sent.size(), g.segments.size());
    const std::uint16_t sport = get16(sent[0].bytes, 34);
    EXPECT_GE(sport, 49152);
    for (std::size_t i = 0; i < sent.size(); ++i) {
      SCOPED_TRACE(i);
      EXPECT_EQ(sent[i].port, kUplink);
      EXPECT_EQ(inner_of(sent[i]), g.segments[i]);
      expect_outer(sent[i], ecn_of(g.segments[i]) == 3 ? 2 : ecn_of(g.segments[i]), sport);
      EXPECT_EQ(sent[i].ol_flags & kRequests, 0u);
      EXPECT_EQ(sent[i].segments, 1);
      ++checked;
    }
    const Stats s = h.stats();
    EXPECT_EQ(s[Counter::superframes_in], 1u);
    EXPECT_EQ(s[Counter::gso_segments], g.segments.size());
    EXPECT_EQ(s[Counter::encap], 1u);
    EXPECT_EQ(s[Counter::tx], g.segments.size());
    EXPECT_GT(s[Counter::sw_csum_bytes], g.super.size() - 100);
    EXPECT_EQ(s.total_drops(), 0u);
    EXPECT_EQ(h.mbufs_in_use(), 0u);
  }
  EXPECT_EQ(checked, 204u);
}

// The segments of several super-frames of one burst leave in one call of the
// port's TX function (a kernel-UDP uplink packs them into full UDP_SEGMENT
// sends), in order.
TEST_F(SuperFrames, SegmentsOfABurstLeaveTogether) {
  const Golden& g = golden_.at(0);  // v4-bulk, 46 segments
  Harness h;
  ASSERT_NO_FATAL_FAILURE(program(h, e_, false));
  rte_mbuf* pkts[3];
  for (rte_mbuf*& m : pkts) {
    m = h.chain(g.super, 8000, false);
    set_from_vnet(m, g);
  }
  h.pipeline().process_endpoint(h.ctx(), kLocalPort, pkts, 3);
  const auto sent = take(h);
  ASSERT_EQ(sent.size(), 3 * g.segments.size());
  for (std::size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(inner_of(sent[i]), g.segments[i % g.segments.size()]) << i;
  }
  EXPECT_EQ(h.tx_calls, 1u);  // 138 segments, within the TX buffer's 256
  EXPECT_EQ(h.mbufs_in_use(), 0u);
}

// The outer ECN field is what the kernel's VXLAN device wrote for the same
// super-frames (tests/data/gso/vxlan-segments.pcap, IPv4 outer).
TEST_F(SuperFrames, OuterEcnAsTheKernelsVxlan) {
  int cases = 0;
  for (const GoldenVxlan& v : load_golden_vxlan()) {
    if (v.outer_version != 4) continue;
    SCOPED_TRACE(v.label);
    Harness h;
    ASSERT_NO_FATAL_FAILURE(program(h, e_, false));
    const auto sent = send_super(h, golden_.at(v.super));
    ASSERT_EQ(sent.size(), v.segments.size());
    for (std::size_t i = 0; i < sent.size(); ++i) {
      EXPECT_EQ(sent[i].bytes[15] & 3, v.segments[i][15] & 3) << i;
      EXPECT_EQ(inner_of(sent[i]), Bytes(v.segments[i].begin() + 50, v.segments[i].end())) << i;
    }
    ++cases;
  }
  EXPECT_EQ(cases, 3);
}

// An uplink that takes tunnel super-frames (a NIC with VXLAN TSO) gets the
// super-frame whole, with DPDK's tunnel metadata; that metadata segments to
// the same frames as above.
TEST_F(SuperFrames, ToAnUplinkWithTunnelTsoWholeWithTunnelMetadata) {
  Pools pools;
  LcoreCounters counters;
  auto seg = Segmenter::create(SegmentConfig{}, pools.header(), pools.indirect(), &counters);
  ASSERT_TRUE(seg);
  for (const Golden& g : golden_) {
    SCOPED_TRACE(g.label);
    Harness h;
    ASSERT_NO_FATAL_FAILURE(program(h, e_, false));
    h.pipeline().set_port_tx_caps(kUplink, kTxCapTunnelTso | kTxCapTunnelUso | kTxCapTunnelL4Csum);
    const auto sent = send_super(h, g);
    ASSERT_EQ(sent.size(), 1u);
    const Sent& s = sent[0];
    EXPECT_EQ(s.segments, (g.super.size() + 7999) / 8000) << "the chain it came in";
    const bool udp = (g.gso_type & 0x7f) == kGsoUdpL4;
    EXPECT_EQ(s.ol_flags & RTE_MBUF_F_TX_TUNNEL_MASK, RTE_MBUF_F_TX_TUNNEL_VXLAN);
    EXPECT_TRUE(s.ol_flags & RTE_MBUF_F_TX_OUTER_IPV4);
    EXPECT_TRUE(s.ol_flags & (udp ? RTE_MBUF_F_TX_UDP_SEG : RTE_MBUF_F_TX_TCP_SEG));
    EXPECT_EQ(s.outer_l2_len, 14);
    EXPECT_EQ(s.outer_l3_len, 20);
    EXPECT_EQ(s.l2_len, 8 + 8 + 14);
    EXPECT_EQ(s.l3_len, g.csum_start - 14);
    EXPECT_EQ(s.tso_segsz, g.gso_size);
    EXPECT_EQ(Bytes(s.bytes.begin() + 50, s.bytes.end()), g.super);
    EXPECT_EQ(h.stats()[Counter::superframes_in], 0u);

    // What a NIC would make of it: the kernel's segments.
    rte_mbuf* m = pools.chain(s.bytes, 4000);
    m->ol_flags = s.ol_flags;
    m->tso_segsz = s.tso_segsz;
    m->l2_len = s.l2_len;
    m->l3_len = s.l3_len;
    m->l4_len = s.l4_len;
    m->outer_l2_len = s.outer_l2_len;
    m->outer_l3_len = s.outer_l3_len;
    rte_mbuf* out[kMaxSegments];
    const SegmentResult r = seg->segment(m, out, kMaxSegments);
    ASSERT_FALSE(r.drop) << counter_name(*r.drop);
    ASSERT_EQ(r.count, g.segments.size());
    for (std::uint16_t i = 0; i < r.count; ++i) {
      const Bytes b = flatten(out[i]);
      EXPECT_EQ(Bytes(b.begin() + 50, b.end()), g.segments[i]) << i;
      EXPECT_EQ(ip_checksum_fold(b.data() + 14, 20), 0xffff) << i;
    }
    rte_pktmbuf_free_bulk(out, r.count);
    EXPECT_EQ(h.mbufs_in_use(), 0u);
  }
  EXPECT_EQ(pools.in_use(), 0u);
}

// Between two endpoints of one host: whole to a port that takes super-frames
// (vnet), the kernel's segments to one that does not (af_packet, af_xdp).
TEST_F(SuperFrames, LocalSwitchingWholeOrSegmentedByTheOutputPort) {
  for (const Golden& g : golden_) {
    SCOPED_TRACE(g.label);
    for (const bool takes : {true, false}) {
      Harness h;
      ASSERT_NO_FATAL_FAILURE(program(h, e_, true));
      if (takes) h.pipeline().set_port_tx_caps(kPeerPort, kTxCapTso | kTxCapUso | kTxCapL4Csum);
      const auto sent = send_super(h, g);
      if (takes) {
        ASSERT_EQ(sent.size(), 1u);
        EXPECT_EQ(sent[0].bytes, g.super);
        EXPECT_EQ(sent[0].tso_segsz, g.gso_size);
        EXPECT_TRUE(sent[0].ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG));
      } else {
        ASSERT_EQ(sent.size(), g.segments.size());
        for (std::size_t i = 0; i < sent.size(); ++i) {
          EXPECT_EQ(sent[i].bytes, g.segments[i]) << i;
          EXPECT_EQ(sent[i].port, kPeerPort);
          EXPECT_EQ(sent[i].ol_flags & kRequests, 0u);
        }
      }
      EXPECT_EQ(h.stats().total_drops(), 0u);
      EXPECT_EQ(h.mbufs_in_use(), 0u);
    }
  }
}

// Flooding a super-frame (unknown unicast in a network that floods): each
// copy is made whole and leaves as its port takes it: whole to a port that
// takes super-frames, the kernel's segments to one that does not, VXLAN
// segments to the flood-list VTEP.
TEST_F(SuperFrames, FloodCopiesLeaveAsEachPortTakesThem) {
  const MacAddr unknown{{0x02, 0x99, 0, 0, 0, 1}};
  for (const Golden* g : {&golden_.at(0), &golden_.at(9)}) {  // v4-bulk, v6-cwr
    SCOPED_TRACE(g->label);
    Golden flooded = *g;
    std::memcpy(flooded.super.data(), unknown.bytes.data(), 6);
    for (Bytes& seg : flooded.segments) std::memcpy(seg.data(), unknown.bytes.data(), 6);
    Harness h;
    ASSERT_TRUE(h.tables().add_network(kVni, true));
    ASSERT_TRUE(h.tables().add_port(EndpointPort{kLocalPort, kVni, e_.sender, {e_.sender4}, {e_.sender6}}));
    ASSERT_TRUE(h.tables().add_port(EndpointPort{2, kVni, MacAddr{{0x02, 0, 0, 0, 0, 2}}, {}}));
    ASSERT_TRUE(h.tables().add_port(EndpointPort{3, kVni, MacAddr{{0x02, 0, 0, 0, 0, 3}}, {}}));
    ASSERT_TRUE(h.tables().add_flood_vtep(kVni, kVtepB));
    ASSERT_TRUE(h.tables().set_vtep_next_hop(kVtepB, kRemoteHostMac));
    h.pipeline().set_port_tx_caps(2, kTxCapTso | kTxCapUso | kTxCapL4Csum);
    const auto sent = send_super(h, flooded);
    std::vector<const Sent*> to2, to3, up;
    for (const Sent& s : sent) (s.port == 2 ? to2 : s.port == 3 ? to3 : up).push_back(&s);
    ASSERT_EQ(to2.size(), 1u);
    EXPECT_EQ(to2[0]->bytes, flooded.super);
    EXPECT_EQ(to2[0]->tso_segsz, g->gso_size);
    ASSERT_EQ(to3.size(), g->segments.size());
    ASSERT_EQ(up.size(), g->segments.size());
    for (std::size_t i = 0; i < to3.size(); ++i) {
      EXPECT_EQ(to3[i]->bytes, flooded.segments[i]) << i;
      EXPECT_EQ(inner_of(*up[i]), flooded.segments[i]) << i;
    }
    const Stats st = h.stats();
    EXPECT_EQ(st[Counter::flooded], 1u);
    EXPECT_EQ(st[Counter::flood_copies], 2u);
    EXPECT_EQ(st[Counter::superframes_in], 2u);
    EXPECT_EQ(st.total_drops(), 0u);
    EXPECT_EQ(h.mbufs_in_use(), 0u);
  }
}

// A frame whose only request is a partial checksum (virtio NEEDS_CSUM): the
// checksum is completed for a port that cannot take it (in place, or inside
// VXLAN), left partial for one that can.
TEST_F(SuperFrames, PartialChecksumsCompletedWhereThePortCannotTakeThem) {
  const Golden& g = golden_.at(1);  // v4-tail
  const Bytes& full = g.segments.at(3);
  Bytes partial = full;
  const std::size_t l4 = g.csum_start;
  const std::uint32_t l4_size = static_cast<std::uint32_t>(full.size() - l4);
  // The pseudo-header sum in the checksum field, as a sender's kernel leaves it.
  std::uint32_t sum = 6 + l4_size;
  for (std::size_t i = 26; i < 34; i += 2) sum += get16(full, i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  set16(partial, l4 + 16, static_cast<std::uint16_t>(sum));
  auto feed = [&](Harness& h) {
    rte_mbuf* m = h.mbuf(partial);
    m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
    m->l2_len = 14;
    m->l3_len = 20;
    m->l4_len = 32;
    h.pipeline().process_endpoint(h.ctx(), kLocalPort, &m, 1);
    return take(h);
  };
  {
    Harness h;
    ASSERT_NO_FATAL_FAILURE(program(h, e_, false));
    const auto sent = feed(h);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(inner_of(sent[0]), full);
    EXPECT_EQ(sent[0].ol_flags & kRequests, 0u);
    EXPECT_EQ(h.stats()[Counter::sw_csum_bytes], l4_size);
  }
  for (const bool takes : {true, false}) {
    Harness h;
    ASSERT_NO_FATAL_FAILURE(program(h, e_, true));
    if (takes) h.pipeline().set_port_tx_caps(kPeerPort, kTxCapL4Csum);
    const auto sent = feed(h);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].bytes, takes ? partial : full);
    EXPECT_EQ((sent[0].ol_flags & RTE_MBUF_F_TX_L4_MASK) != 0, takes);
    EXPECT_EQ(h.mbufs_in_use(), 0u);
  }
}

// The kernel's VXLAN segments (IPv4 outer) arriving from the uplink: one
// super-frame for a port that takes TCP super-frames, equal to the one the
// sending container's kernel made (headers, lengths, the partial checksum,
// gso_size); the segments unchanged for a port that does not.
TEST_F(SuperFrames, KernelVxlanSegmentsCoalescedIntoTheKernelsSuperFrame) {
  int cases = 0;
  for (const GoldenVxlan& v : load_golden_vxlan()) {
    if (v.outer_version != 4) continue;  // Ferry's underlay is IPv4
    const Golden& g = golden_.at(v.super);
    SCOPED_TRACE(v.label);
    const Bytes& first = v.segments.front();
    for (const bool takes : {true, false}) {
      PipelineConfig cfg = Harness::default_config();
      cfg.underlay.vtep_ip = Ipv4Addr{get32(first, 30)};
      cfg.underlay.uplink_mac = mac_at(first, 0);
      Harness h(cfg);
      const Vni vni = get32(first, 46) >> 8;
      const Bytes inner(first.begin() + 50, first.end());
      ASSERT_TRUE(h.tables().add_network(vni, false));
      ASSERT_TRUE(h.tables().add_port(EndpointPort{kLocalPort, vni, mac_at(inner, 0), {}}));
      ASSERT_TRUE(h.tables().add_flood_vtep(vni, Ipv4Addr{get32(first, 26)}));
      if (takes) h.pipeline().set_port_tx_caps(kLocalPort, kTxCapTso | kTxCapUso | kTxCapL4Csum);
      const auto sent = h.from_uplink(v.segments);
      if (takes) {
        ASSERT_EQ(sent.size(), 1u);
        EXPECT_EQ(sent[0].bytes, g.super);
        EXPECT_TRUE(sent[0].ol_flags & RTE_MBUF_F_TX_TCP_SEG);
        EXPECT_EQ(sent[0].tso_segsz, g.gso_size);
        EXPECT_EQ(h.stats()[Counter::superframes_out], 1u);
        EXPECT_EQ(h.stats()[Counter::coalesced], v.segments.size());
      } else {
        ASSERT_EQ(sent.size(), v.segments.size());
        for (std::size_t i = 0; i < sent.size(); ++i) {
          EXPECT_EQ(sent[i].bytes, g.segments[i]) << i;
        }
        EXPECT_EQ(h.stats()[Counter::superframes_out], 0u);
      }
      EXPECT_EQ(h.stats()[Counter::decap], v.segments.size());
      EXPECT_EQ(h.stats()[Counter::gro_bad_checksum], 0u);
      EXPECT_EQ(h.stats().total_drops(), 0u);
      EXPECT_EQ(h.mbufs_in_use(), 0u);
    }
    ++cases;
  }
  EXPECT_EQ(cases, 3);
}

// A whole UDP_GRO batch (the uplink hands the pipeline up to
// kUplinkBurstSize frames at once) becomes one super-frame, across the
// pipeline's bursts of 32: the 64 KB super-frames come back whole. More than
// the batch holds is coalesced in turns.
TEST_F(SuperFrames, CoalescingSpansTheUplinksBatch) {
  for (const Golden* g : {&golden_.at(0), &golden_.at(6)}) {  // v4-bulk (46 segments), v6-bulk (47)
    SCOPED_TRACE(g->label);
    Harness h;
    ASSERT_TRUE(h.tables().add_network(kVni, false));
    ASSERT_TRUE(h.tables().add_port(EndpointPort{kLocalPort, kVni, e_.receiver, {}}));
    ASSERT_TRUE(h.tables().add_flood_vtep(kVni, kVtepB));
    h.pipeline().set_port_tx_caps(kLocalPort, kTxCapTso | kTxCapL4Csum);
    std::vector<Bytes> frames;
    for (const Bytes& seg : g->segments) frames.push_back(vxlan(seg, kVni));
    ASSERT_GT(frames.size(), kBurstSize);
    auto sent = h.from_uplink(frames);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].bytes, g->super);
    EXPECT_EQ(sent[0].tso_segsz, g->gso_size);
    // Twice in one call (more than kUplinkBurstSize frames): the first
    // super-frame whole, the second in two parts.
    std::vector<Bytes> twice = frames;
    twice.insert(twice.end(), frames.begin(), frames.end());
    sent = h.from_uplink(twice);
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(sent[0].bytes, g->super);
    const std::size_t hdr = g->csum_start + (g->super[g->csum_start + 12] >> 4) * 4u;
    Bytes joined(sent[1].bytes.begin() + static_cast<std::ptrdiff_t>(hdr), sent[1].bytes.end());
    joined.insert(joined.end(), sent[2].bytes.begin() + static_cast<std::ptrdiff_t>(hdr), sent[2].bytes.end());
    EXPECT_EQ(joined, Bytes(g->super.begin() + static_cast<std::ptrdiff_t>(hdr), g->super.end()));
    EXPECT_EQ(h.stats()[Counter::coalesced], 3 * g->segments.size());
    EXPECT_EQ(h.stats().total_drops(), 0u);
    EXPECT_EQ(h.mbufs_in_use(), 0u);
  }
}

// A segment with a wrong TCP checksum is counted and delivered on its own
// (the receiver's TCP drops it), never merged.
TEST_F(SuperFrames, BadChecksumIsCountedAndNotMerged) {
  const Golden& g = golden_.at(1);  // v4-tail: 8 segments
  Harness h;
  ASSERT_TRUE(h.tables().add_network(kVni, false));
  ASSERT_TRUE(h.tables().add_port(EndpointPort{kLocalPort, kVni, e_.receiver, {}}));
  ASSERT_TRUE(h.tables().add_flood_vtep(kVni, kVtepB));
  h.pipeline().set_port_tx_caps(kLocalPort, kTxCapTso | kTxCapL4Csum);
  std::vector<Bytes> frames;
  for (std::size_t i = 0; i < g.segments.size(); ++i) {
    Bytes s = g.segments[i];
    if (i == 4) s[s.size() - 1] ^= 0x5a;  // payload changed, checksum not
    frames.push_back(vxlan(s, kVni));
  }
  const auto sent = h.from_uplink(frames);
  // 0..3 merged, 4 alone, 5..7 merged.
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[1].bytes.size(), g.segments[4].size());
  EXPECT_EQ(h.stats()[Counter::gro_bad_checksum], 1u);
  EXPECT_EQ(h.stats()[Counter::superframes_out], 2u);
  EXPECT_EQ(h.stats()[Counter::coalesced], 7u);
  EXPECT_EQ(h.mbufs_in_use(), 0u);
}

// Every drop reason of software segmentation, reached through the pipeline
// with one super-frame each; and the per-segment MTU check.
TEST_F(SuperFrames, EveryGsoDropReason) {
  const Golden& tail = golden_.at(1);  // v4-tail
  const Golden& bulk = golden_.at(0);  // v4-bulk
  struct Case {
    const char* what;
    Counter reason;
    void (*mangle)(rte_mbuf*);
    const Golden* g;
  };
  const std::vector<Case> cases = {
      {"data offset and l4_len disagree", Counter::gso_bad_header, [](rte_mbuf* m) { m->l4_len = 24; }, &tail},
      {"segment size 0", Counter::gso_bad_mss, [](rte_mbuf* m) { m->tso_segsz = 0; }, &tail},
      {"more segments than the output holds", Counter::gso_bad_mss, [](rte_mbuf* m) { m->tso_segsz = 100; }, &bulk},
      {"SCTP checksum", Counter::gso_unsupported,
       [](rte_mbuf* m) { m->ol_flags = (m->ol_flags & ~RTE_MBUF_F_TX_L4_MASK) | RTE_MBUF_F_TX_SCTP_CKSUM; }, &tail},
      {"a segment above the MTU, DF clear (nobody to tell)", Counter::mtu_exceeded,
       [](rte_mbuf* m) {
         m->tso_segsz = 1500;
         rte_pktmbuf_mtod(m, std::uint8_t*)[14 + 6] &= 0xbf;
       },
       &tail},
  };
  std::set<std::string> seen;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Harness h;
    ASSERT_NO_FATAL_FAILURE(program(h, e_, false));
    rte_mbuf* m = h.chain(c.g->super, 8000, false);
    set_from_vnet(m, *c.g);
    c.mangle(m);
    h.pipeline().process_endpoint(h.ctx(), kLocalPort, &m, 1);
    EXPECT_TRUE(take(h).empty());
    EXPECT_EQ(h.stats()[c.reason], 1u) << counter_name(c.reason);
    EXPECT_EQ(h.stats().total_drops(), 1u);
    EXPECT_EQ(h.mbufs_in_use(), 0u);
    seen.insert(std::string(counter_name(c.reason)));
  }
  {
    SCOPED_TRACE("IPv4 total length above 65 535");
    Harness h;
    ASSERT_NO_FATAL_FAILURE(program(h, e_, false));
    Bytes big = bulk.super;
    big.resize(65535 + 14 + 200, 0x5a);
    rte_mbuf* m = h.chain(big, 8000, false);
    set_from_vnet(m, bulk);
    h.pipeline().process_endpoint(h.ctx(), kLocalPort, &m, 1);
    EXPECT_TRUE(take(h).empty());
    EXPECT_EQ(h.stats()[Counter::gso_too_big], 1u);
    EXPECT_EQ(h.stats().total_drops(), 1u);
    EXPECT_EQ(h.mbufs_in_use(), 0u);
    seen.insert("gso_too_big");
  }
  {
    SCOPED_TRACE("headers split over a shared first mbuf");
    Harness h;
    ASSERT_NO_FATAL_FAILURE(program(h, e_, true));
    Bytes f = tail.super;
    rte_mbuf* m = h.chain(Bytes(f.begin(), f.begin() + 40), 40, false);
    rte_mbuf* rest = h.chain(Bytes(f.begin() + 40, f.end()), 8000, false);
    ASSERT_EQ(rte_pktmbuf_chain(m, rest), 0);
    set_from_vnet(m, tail);
    rte_mbuf_refcnt_update(m, 1);  // someone else holds the first mbuf too
    h.pipeline().process_endpoint(h.ctx(), kLocalPort, &m, 1);
    EXPECT_TRUE(take(h).empty());
    EXPECT_EQ(h.stats()[Counter::gso_headers_split], 1u);
    EXPECT_EQ(h.stats().total_drops(), 1u);
    // The pipeline freed the rest of the chain and dropped its reference.
    m->next = nullptr;
    m->nb_segs = 1;
    rte_pktmbuf_free(m);
    EXPECT_EQ(h.mbufs_in_use(), 0u);
    seen.insert("gso_headers_split");
  }
  {
    SCOPED_TRACE("pool dry while segmenting");
    Harness h(Harness::default_config(), 64);
    ASSERT_NO_FATAL_FAILURE(program(h, e_, false));
    rte_mbuf* m = h.chain(tail.super, 8000, false);
    set_from_vnet(m, tail);
    std::vector<rte_mbuf*> hog;
    while (hog.size() + 4 < 64 - 2) {
      rte_mbuf* x = rte_pktmbuf_alloc(h.pool());
      if (x == nullptr) break;
      hog.push_back(x);
    }
    h.pipeline().process_endpoint(h.ctx(), kLocalPort, &m, 1);
    for (rte_mbuf* x : hog) rte_pktmbuf_free(x);
    EXPECT_TRUE(take(h).empty());
    EXPECT_EQ(h.stats()[Counter::no_mbuf], 1u);
    EXPECT_EQ(h.stats().total_drops(), 1u);
    EXPECT_EQ(h.mbufs_in_use(), 0u);
  }
  for (const auto& info : kCounterInfo) {
    if (info.kind == CounterKind::Drop && info.name.rfind("gso_", 0) == 0) {
      EXPECT_TRUE(seen.count(std::string(info.name)) == 1) << info.name << " not reached";
    }
  }
}

// A super-frame whose segments would not fit the underlay (the container's
// MSS is above what the overlay carries) is answered with Fragmentation
// Needed, so the container's TCP lowers its MSS instead of retrying into a
// black hole; the rest of the 64 KB chain is freed.
TEST_F(SuperFrames, SegmentsAboveTheMtuAreAnsweredWithFragmentationNeeded) {
  const Golden& tail = golden_.at(1);  // v4-tail
  Harness h;
  ASSERT_NO_FATAL_FAILURE(program(h, e_, false));
  rte_mbuf* m = h.chain(tail.super, 8000, false);
  ASSERT_GT(m->nb_segs, 1);
  set_from_vnet(m, tail);
  m->tso_segsz = 1500;
  h.pipeline().process_endpoint(h.ctx(), kLocalPort, &m, 1);
  const auto sent = take(h);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, kLocalPort);
  EXPECT_EQ(sent[0].segments, 1u);
  EXPECT_EQ(sent[0].ol_flags & RTE_MBUF_F_TX_OFFLOAD_MASK, 0u) << "no offload request left";
  const Bytes& r = sent[0].bytes;
  ASSERT_EQ(r.size(), 14u + 576u);
  EXPECT_EQ(r[14 + 9], 1) << "ICMP";
  EXPECT_EQ(r[34], 3) << "Destination Unreachable";
  EXPECT_EQ(r[35], 4) << "Fragmentation Needed";
  EXPECT_EQ(be16(r, 40), 1450) << "next-hop MTU";
  EXPECT_TRUE(std::equal(r.begin() + 42, r.end(), tail.super.begin() + 14)) << "quotes the original packet";
  EXPECT_EQ(h.stats()[Counter::pmtu_answered], 1u);
  EXPECT_EQ(h.stats().total_drops(), 0u);
  EXPECT_EQ(h.mbufs_in_use(), 0u);
}

// ---------------------------------------------------------------------------
// ECN (RFC 6040), as the kernel's vxlan: INET_ECN_encapsulate on the way
// out, INET_ECN_decapsulate on the way in.

Bytes ip_frame(bool v6, std::uint8_t ecn, const MacAddr& dst, const MacAddr& src, bool to_remote) {
  const Bytes payload = udp(1000, 2000, Bytes(64, 0x11));
  Bytes ip;
  if (v6) {
    ip = ipv6(to_remote ? kLocalIp6 : kRemoteIp6, to_remote ? kRemoteIp6 : kLocalIp6, 17, payload);
    ip[1] = static_cast<std::uint8_t>((ip[1] & 0xcf) | ecn << 4);
  } else {
    ip = ipv4(to_remote ? kLocalIp : kRemoteIp, to_remote ? kRemoteIp : kLocalIp, 17, payload);
    ip[1] = static_cast<std::uint8_t>(0x28 | ecn);  // DSCP AF11
    put_be16(ip, 10, 0);
    put_be16(ip, 10, static_cast<std::uint16_t>(~ip_checksum_fold(ip.data(), 20)));
  }
  return ether(dst, src, v6 ? 0x86dd : 0x0800, ip);
}

TEST(Ecn, EncapsulationCopiesTheInnerFieldButCe) {
  // inner Not-ECT, ECT(1), ECT(0), CE -> outer
  const std::uint8_t expected[4] = {0, 1, 2, 2};
  for (const bool v6 : {false, true}) {
    for (std::uint8_t ecn = 0; ecn < 4; ++ecn) {
      SCOPED_TRACE(testing::Message() << (v6 ? "IPv6" : "IPv4") << " inner ECN " << int{ecn});
      PipelineConfig cfg = Harness::default_config();
      cfg.underlay.dscp = 46;
      Harness h(cfg);
      h.program_host_a();
      const auto sent = h.from_endpoint(kLocalPort, ip_frame(v6, ecn, kRemoteMac, kLocalMac, true));
      ASSERT_EQ(sent.size(), 1u);
      EXPECT_EQ(sent[0].bytes[15], (46 << 2) | expected[ecn]);
      EXPECT_EQ(ip_checksum_fold(sent[0].bytes.data() + 14, 20), 0xffff);
      EXPECT_EQ(ecn_of(Bytes(sent[0].bytes.begin() + 50, sent[0].bytes.end())), ecn) << "inner unchanged";
    }
  }
  // Not IP: Not-ECT outside.
  Harness h;
  h.program_host_a();
  const auto sent = h.from_endpoint(kLocalPort, ether(kRemoteMac, kLocalMac, 0x88b5, Bytes(60, 3)));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].bytes[15] & 3, 0);
}

TEST(Ecn, DecapsulationAppliesTheOuterFieldOrDrops) {
  // [outer][inner] -> inner after, or -1: dropped (RFC 6040 §4.2, Linux).
  const int table[4][4] = {
      {0, 1, 2, 3},   // outer Not-ECT: unchanged
      {0, 1, 1, 3},   // outer ECT(1): ECT(0) becomes ECT(1)
      {0, 1, 2, 3},   // outer ECT(0): unchanged
      {-1, 3, 3, 3},  // outer CE: CE onto ECN-capable, drop onto Not-ECT
  };
  for (const bool v6 : {false, true}) {
    for (std::uint8_t outer = 0; outer < 4; ++outer) {
      for (std::uint8_t inner = 0; inner < 4; ++inner) {
        SCOPED_TRACE(testing::Message() << (v6 ? "IPv6" : "IPv4") << " outer " << int{outer} << " inner "
                                        << int{inner});
        Harness h;
        h.program_host_a();
        Bytes frame = vxlan(ip_frame(v6, inner, kLocalMac, kRemoteMac, false), kVni);
        frame[15] = static_cast<std::uint8_t>(frame[15] | outer);
        put_be16(frame, 24, 0);
        put_be16(frame, 24, static_cast<std::uint16_t>(~ip_checksum_fold(frame.data() + 14, 20)));
        const auto sent = h.from_uplink(frame);
        const int want = table[outer][inner];
        if (want < 0) {
          EXPECT_TRUE(sent.empty());
          EXPECT_EQ(h.stats()[Counter::ecn_ce_not_ect], 1u);
          EXPECT_EQ(h.stats().total_drops(), 1u);
        } else {
          ASSERT_EQ(sent.size(), 1u);
          EXPECT_EQ(ecn_of(sent[0].bytes), want);
          if (!v6) {
            EXPECT_EQ(sent[0].bytes[15] >> 2, 0x28 >> 2) << "DSCP kept";
            EXPECT_EQ(ip_checksum_fold(sent[0].bytes.data() + 14, 20), 0xffff);
          }
          EXPECT_EQ(h.stats().total_drops(), 0u);
        }
        EXPECT_EQ(h.mbufs_in_use(), 0u);
      }
    }
  }
  // Not IP inside a CE-marked outer header: nothing to mark, delivered.
  Harness h;
  h.program_host_a();
  Bytes frame = vxlan(ether(kLocalMac, kRemoteMac, 0x88b5, Bytes(60, 3)), kVni);
  frame[15] = 3;
  put_be16(frame, 24, 0);
  put_be16(frame, 24, static_cast<std::uint16_t>(~ip_checksum_fold(frame.data() + 14, 20)));
  EXPECT_EQ(h.from_uplink(frame).size(), 1u);
}

// Coalescing keys hold the network: segments of one TCP flow (consecutive
// sequence numbers) that arrive in two networks whose VNIs share their low
// 16 bits stay in their own network, each merged on its own.
TEST_F(SuperFrames, CoalescingNeverMergesAcrossNetworks) {
  const Golden& g = golden_.at(1);  // v4-tail, 8 segments
  const Vni a = 0x00abcd, b = 0x01abcd;
  Harness h;
  for (const auto& [vni, port] : {std::pair{a, kLocalPort}, std::pair{b, kPeerPort}}) {
    ASSERT_TRUE(h.tables().add_network(vni, false));
    ASSERT_TRUE(h.tables().add_port(EndpointPort{port, vni, e_.receiver, {}}));
    ASSERT_TRUE(h.tables().add_flood_vtep(vni, kVtepB));
    h.pipeline().set_port_tx_caps(port, kTxCapTso | kTxCapL4Csum);
  }
  std::vector<Bytes> frames;
  for (std::size_t i = 0; i < g.segments.size(); ++i) frames.push_back(vxlan(g.segments[i], i < 4 ? a : b));
  // And interleaved: every other segment in the other network.
  for (std::size_t i = 0; i < g.segments.size(); ++i) frames.push_back(vxlan(g.segments[i], i % 2 == 0 ? a : b));
  const auto sent = h.from_uplink(frames);
  Bytes to_a, to_b;
  std::size_t frames_a = 0, frames_b = 0;
  auto payload = [](const Bytes& f) { return Bytes(f.begin() + 66, f.end()); };
  for (const Sent& s : sent) {
    const Bytes p = payload(s.bytes);
    (s.port == kLocalPort ? to_a : to_b).insert((s.port == kLocalPort ? to_a : to_b).end(), p.begin(), p.end());
    ++(s.port == kLocalPort ? frames_a : frames_b);
  }
  Bytes want_a, want_b;
  for (std::size_t i = 0; i < 8; ++i) {
    const Bytes p = payload(g.segments[i]);
    (i < 4 ? want_a : want_b).insert((i < 4 ? want_a : want_b).end(), p.begin(), p.end());
  }
  for (std::size_t i = 0; i < 8; ++i) {
    const Bytes p = payload(g.segments[i]);
    (i % 2 == 0 ? want_a : want_b).insert((i % 2 == 0 ? want_a : want_b).end(), p.begin(), p.end());
  }
  EXPECT_EQ(to_a, want_a);
  EXPECT_EQ(to_b, want_b);
  // First half: one merge per network; interleaved: nothing consecutive.
  EXPECT_EQ(frames_a, 1u + 4u);
  EXPECT_EQ(frames_b, 1u + 4u);
  EXPECT_EQ(h.stats()[Counter::superframes_out], 2u);
  EXPECT_EQ(h.mbufs_in_use(), 0u);
}

}  // namespace
}  // namespace ferry::dataplane::test
