// Software segmentation: every segment compared byte for byte with frames
// built independently (tests/dataplane/core/offload_support.cc, plain RFC 1071
// checksums) the way the kernel's GSO makes them; chains, copies and
// references, tunnels, drop reasons, pool exhaustion and leaks.
#include "dataplane/core/segment.h"

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <cstring>
#include <functional>
#include <set>
#include <sstream>

#include "dataplane/core/offload.h"
#include "tests/dataplane/core/offload_support.h"

namespace ferry::dataplane::test {
namespace {

const Bytes kTimestamps = {0x01, 0x01, 0x08, 0x0a, 0x00, 0x01, 0xe2, 0x40, 0x00, 0x00, 0x30, 0x39};

// What Linux's GSO makes of super-frame `s`: the payload cut every `mss`
// bytes, sequence numbers and IPv4 ids advancing, CWR kept on the first
// segment only, PSH and FIN on the last only, full checksums.
std::vector<Bytes> reference_segments(const FrameSpec& s, std::size_t mss) {
  const Bytes payload = make_payload(s);
  const std::size_t n = payload.empty() ? 1 : (payload.size() + mss - 1) / mss;
  std::vector<Bytes> out;
  for (std::size_t k = 0; k < n; ++k) {
    FrameSpec t = s;
    const std::size_t from = k * mss;
    const std::size_t to = std::min(payload.size(), from + mss);
    t.data =
        Bytes(payload.begin() + static_cast<std::ptrdiff_t>(from), payload.begin() + static_cast<std::ptrdiff_t>(to));
    t.csum = Csum::Full;
    t.seq = s.seq + static_cast<std::uint32_t>(k * mss);
    t.ip_id = static_cast<std::uint16_t>(s.ip_id + k);
    if (!s.udp) {
      if (k > 0) t.flags &= static_cast<std::uint8_t>(~kCwr);
      if (k + 1 < n) t.flags &= static_cast<std::uint8_t>(~(kPsh | kFin));
    }
    out.push_back(make_frame(t));
  }
  return out;
}

// The same inside VXLAN: outer lengths per segment, outer id advancing
// unless 0, outer UDP checksum 0 over IPv4 and made over IPv6.
std::vector<Bytes> reference_tunnel_segments(const FrameSpec& s, std::size_t mss, bool outer_ipv6,
                                             std::uint16_t outer_id) {
  std::vector<Bytes> out;
  std::uint16_t k = 0;
  for (const Bytes& inner : reference_segments(s, mss)) {
    Bytes f = vxlan_wrap(inner, outer_ipv6, outer_id == 0 ? 0 : static_cast<std::uint16_t>(outer_id + k++));
    if (outer_ipv6) {
      const std::size_t udp = 54;
      std::uint32_t ps = naive_sum(f.data() + 22, 32) + 17 + static_cast<std::uint32_t>(f.size() - udp);
      std::uint16_t c = static_cast<std::uint16_t>(~naive_sum(f.data() + udp, f.size() - udp, ps));
      set16(f, udp + 6, c == 0 ? 0xffff : c);
    }
    out.push_back(f);
  }
  return out;
}

std::string hex_diff(const Bytes& got, const Bytes& want) {
  std::ostringstream o;
  o << "sizes " << got.size() << " / " << want.size();
  for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    if (got[i] != want[i]) {
      o << ", first difference at byte " << i << ": " << int(got[i]) << " != " << int(want[i]);
      break;
    }
  }
  return o.str();
}

class SegmentTest : public ::testing::Test {
 protected:
  Segmenter make(std::uint16_t copy_max) {
    SegmentConfig cfg;
    cfg.copy_max = copy_max;
    auto s = Segmenter::create(cfg, pools.header(), pools.indirect(), &counters);
    EXPECT_TRUE(s) << s.error().message;
    return *s;
  }

  // Segments `frame` (metadata set by `meta`) and checks the result against `want`.
  void expect_segments(Segmenter& seg, rte_mbuf* m, const std::vector<Bytes>& want) {
    rte_mbuf* out[kMaxSegments];
    const SegmentResult r = seg.segment(m, out, kMaxSegments);
    ASSERT_FALSE(r.drop) << counter_name(*r.drop);
    ASSERT_EQ(r.count, want.size());
    for (std::uint16_t i = 0; i < r.count; ++i) {
      const Bytes got = flatten(out[i]);
      EXPECT_EQ(got, want[i]) << "segment " << i << ": " << hex_diff(got, want[i]);
      EXPECT_EQ(out[i]->pkt_len, got.size());
      EXPECT_EQ(out[i]->ol_flags & offload_request_flags() & ~RTE_MBUF_F_TX_TUNNEL_MASK, 0u);
      EXPECT_EQ(out[i]->tso_segsz, 0);
    }
    rte_pktmbuf_free_bulk(out, r.count);
  }

  Pools pools;
  LcoreCounters counters;
};

TEST_F(SegmentTest, TcpSegmentsMatchTheKernelsRules) {
  int cases = 0;
  for (bool ipv6 : {false, true}) {
    for (std::uint16_t copy_max : {std::uint16_t{0}, std::uint16_t{1024}, std::uint16_t{1900}}) {
      for (std::size_t piece : {0u, 1000u, 1449u, 333u}) {
        for (std::size_t payload : {2896u, 10000u, 1449u, 60000u}) {
          for (std::uint8_t flags :
               {std::uint8_t(kAck), std::uint8_t(kAck | kPsh), std::uint8_t(kAck | kCwr | kEce | kPsh | kFin)}) {
            FrameSpec s;
            s.ipv6 = ipv6;
            s.payload = payload;
            s.flags = flags;
            s.options = kTimestamps;
            s.csum = Csum::Partial;
            s.ip_id = 0xfffe;    // wraps
            s.seq = 0xfffff000;  // wraps
            s.random_payload = true;
            s.payload_seed = static_cast<std::uint8_t>(cases);
            SCOPED_TRACE(testing::Message() << "ipv6 " << ipv6 << " copy_max " << copy_max << " pieces " << piece
                                            << " payload " << payload << " flags " << int(flags));
            Segmenter seg = make(copy_max);
            rte_mbuf* m = pools.chain(make_frame(s), piece);
            set_offload(m, s, 1448);
            expect_segments(seg, m, reference_segments(s, 1448));
            ASSERT_EQ(pools.in_use(), 0u);
            ++cases;
          }
        }
      }
    }
  }
  EXPECT_EQ(counter(counters, Counter::superframes_in), static_cast<std::uint64_t>(cases));
  EXPECT_GT(counter(counters, Counter::sw_csum_bytes), 0u);
}

TEST_F(SegmentTest, HeaderVariants) {
  Segmenter seg = make(1024);
  struct Case {
    const char* what;
    FrameSpec spec;
  };
  std::vector<Case> cases;
  {
    FrameSpec s;
    s.ip_options = {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00};  // router alert + NOPs + EOL
    cases.push_back({"IPv4 options", s});
  }
  {
    FrameSpec s;
    s.ipv6 = true;
    s.first_ext = 0;  // hop-by-hop (PadN) then destination options, then TCP
    s.ip_options = {60, 0, 1, 4, 0, 0, 0, 0, 6, 0, 1, 4, 0, 0, 0, 0};
    cases.push_back({"IPv6 extension headers", s});
  }
  {
    FrameSpec s;
    s.options = Bytes(40, 1);  // the largest TCP header
    cases.push_back({"60-byte TCP header", s});
  }
  {
    FrameSpec s;
    s.df = false;
    s.tos = 0x0a;
    s.ttl = 1;
    s.ipv6 = false;
    cases.push_back({"no DF, TOS, TTL 1", s});
  }
  {
    FrameSpec s;
    s.ipv6 = true;
    s.flow_label = 0xabcde;
    s.tos = 0xb8;
    cases.push_back({"IPv6 flow label and traffic class", s});
  }
  {
    FrameSpec s;
    s.payload = 1000;  // one segment: completed in place
    s.flags = kAck | kPsh | kCwr | kFin;
    cases.push_back({"shorter than the MSS", s});
  }
  {
    FrameSpec s;
    s.payload = 0;
    s.flags = kAck | kFin;
    cases.push_back({"no payload", s});
  }
  {
    FrameSpec s;
    s.payload = 1448 * 3 + 1;  // a one-byte tail
    cases.push_back({"one-byte tail", s});
  }
  {
    FrameSpec s;
    s.payload = 5001;
    s.csum = Csum::Zero;  // TSO without a partial checksum: the sum comes from the addresses
    cases.push_back({"no checksum flag", s});
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    FrameSpec s = c.spec;
    if (s.payload == 1000 && c.spec.data == std::nullopt && std::string(c.what) != "shorter than the MSS") {
      s.payload = 7777;
    }
    if (s.csum == Csum::Full) s.csum = Csum::Partial;
    rte_mbuf* m = pools.chain(make_frame(s), 1100);
    set_offload(m, s, 1448);
    expect_segments(seg, m, reference_segments(s, 1448));
    EXPECT_EQ(pools.in_use(), 0u);
  }
}

TEST_F(SegmentTest, OddMssAndOddPieces) {
  Segmenter seg = make(0);  // every payload referenced, pieces at odd offsets
  for (std::size_t mss : {1u, 7u, 537u, 1399u}) {
    for (std::size_t piece : {97u, 1001u}) {
      FrameSpec s;
      s.payload = std::min<std::size_t>(3000, mss * 100);
      s.random_payload = true;
      s.csum = Csum::Partial;
      SCOPED_TRACE(testing::Message() << "mss " << mss << " pieces " << piece);
      rte_mbuf* m = pools.chain(make_frame(s), piece);
      set_offload(m, s, static_cast<std::uint16_t>(mss));
      expect_segments(seg, m, reference_segments(s, mss));
      EXPECT_EQ(pools.in_use(), 0u);
    }
  }
}

TEST_F(SegmentTest, UdpGsoMakesDatagramsWithTheirOwnLengthsAndChecksums) {
  for (bool ipv6 : {false, true}) {
    for (std::uint16_t copy_max : {std::uint16_t{0}, std::uint16_t{1900}}) {
      FrameSpec s;
      s.udp = true;
      s.ipv6 = ipv6;
      s.payload = 14000;  // 10 datagrams of 1400 bytes
      s.random_payload = true;
      s.csum = Csum::Partial;
      SCOPED_TRACE(testing::Message() << "ipv6 " << ipv6 << " copy_max " << copy_max);
      Segmenter seg = make(copy_max);
      for (std::size_t payload : {14000u, 14001u, 1400u, 65000u}) {
        s.payload = payload;
        rte_mbuf* m = pools.chain(make_frame(s), 4000);
        set_offload(m, s, 1400);
        expect_segments(seg, m, reference_segments(s, 1400));
      }
      EXPECT_EQ(pools.in_use(), 0u);
    }
  }
}

TEST_F(SegmentTest, VxlanSuperFramesReplicateAndPatchTheOuterHeaders) {
  for (bool outer_ipv6 : {false, true}) {
    for (bool inner_ipv6 : {false, true}) {
      for (std::uint16_t outer_id : {std::uint16_t{0}, std::uint16_t{0xfffe}}) {
        if (outer_ipv6 && outer_id != 0) continue;
        for (bool udp : {false, true}) {
          FrameSpec s;
          s.ipv6 = inner_ipv6;
          s.udp = udp;
          s.payload = 20000;
          s.options = udp ? Bytes{} : kTimestamps;
          s.flags = kAck | kPsh | kCwr;
          s.random_payload = true;
          s.csum = Csum::Partial;
          SCOPED_TRACE(testing::Message() << "outer ipv6 " << outer_ipv6 << " inner ipv6 " << inner_ipv6 << " outer id "
                                          << outer_id << " udp " << udp);
          Segmenter seg = make(1024);
          rte_mbuf* m = pools.chain(vxlan_wrap(make_frame(s), outer_ipv6, outer_id), 3000);
          set_tunnel_offload(m, s, outer_ipv6, 1398);
          expect_segments(seg, m, reference_tunnel_segments(s, 1398, outer_ipv6, outer_id));
          EXPECT_EQ(pools.in_use(), 0u);
        }
      }
    }
  }
}

TEST_F(SegmentTest, ChecksumOnlyFramesAreCompletedInPlaceOrCopiedWhenShared) {
  Segmenter seg = make(1024);
  FrameSpec s;
  s.payload = 3000;
  s.csum = Csum::Partial;
  const Bytes partial = make_frame(s);
  s.csum = Csum::Full;
  const Bytes full = make_frame(s);
  s.csum = Csum::Partial;

  rte_mbuf* m = pools.chain(partial, 1000);
  set_offload(m, s, 0);
  m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
  rte_mbuf* out[4];
  SegmentResult r = seg.segment(m, out, 4);
  ASSERT_EQ(r.count, 1);
  EXPECT_EQ(out[0], m);  // in place
  EXPECT_EQ(flatten(m), full);
  EXPECT_EQ(m->ol_flags & offload_request_flags(), 0u);
  rte_pktmbuf_free(m);

  // A shared buffer (e.g. one copy of a flooded frame) is not written: the
  // headers go to a fresh mbuf.
  m = pools.chain(partial, 1000);
  set_offload(m, s, 0);
  for (rte_mbuf* piece = m; piece != nullptr; piece = piece->next) rte_mbuf_refcnt_update(piece, 1);
  r = seg.segment(m, out, 4);
  ASSERT_EQ(r.count, 1);
  EXPECT_NE(out[0], m);
  EXPECT_EQ(flatten(out[0]), full);
  EXPECT_EQ(flatten(m), partial);
  rte_pktmbuf_free(out[0]);
  rte_pktmbuf_free(m);  // our second reference
  EXPECT_EQ(pools.in_use(), 0u);

  // Nothing asked: passed on as it is.
  m = pools.chain(partial);
  m->ol_flags = 0;
  r = seg.segment(m, out, 4);
  ASSERT_EQ(r.count, 1);
  EXPECT_EQ(out[0], m);
  EXPECT_EQ(flatten(m), partial);
  rte_pktmbuf_free(m);
  EXPECT_EQ(pools.in_use(), 0u);
}

// What a kernel UDP socket uplink sends: a VXLAN header + the inner frame,
// the outer headers being the kernel's. The VXLAN header is opaque L2
// (l2_len 8 + 14, no tunnel flags) and repeats in every segment.
TEST_F(SegmentTest, OpaqueL2PrefixForTheUdpSocketUplink) {
  Segmenter seg = make(SegmentConfig{}.copy_max);
  FrameSpec s;
  s.payload = 30000;
  s.options = kTimestamps;
  s.flags = kAck | kPsh;
  s.csum = Csum::Partial;
  const Bytes vxlan_header = {0x08, 0, 0, 0, 0, 0x10, 0x92, 0};
  Bytes frame = vxlan_header;
  const Bytes inner = make_frame(s);
  frame.insert(frame.end(), inner.begin(), inner.end());
  rte_mbuf* m = pools.chain(frame, 2048);
  set_offload(m, s, 1398);
  m->l2_len = 8 + 14;
  std::vector<Bytes> want;
  for (Bytes& seg_bytes : reference_segments(s, 1398)) {
    seg_bytes.insert(seg_bytes.begin(), vxlan_header.begin(), vxlan_header.end());
    want.push_back(seg_bytes);
  }
  expect_segments(seg, m, want);
  EXPECT_EQ(pools.in_use(), 0u);
}

// Checksums only, in a VXLAN frame: inner TCP (partial), outer IPv4 header and
// outer UDP, all asked by flags and made in place.
TEST_F(SegmentTest, TunnelChecksumsCompletedInPlace) {
  Segmenter seg = make(SegmentConfig{}.copy_max);
  for (bool outer_ipv6 : {false, true}) {
    SCOPED_TRACE(outer_ipv6);
    FrameSpec s;
    s.payload = 1000;
    s.csum = Csum::Partial;
    Bytes frame = vxlan_wrap(make_frame(s), outer_ipv6);
    if (!outer_ipv6) set16(frame, 24, 0);  // outer IPv4 checksum to be made
    rte_mbuf* m = pools.chain(frame, 500);
    set_tunnel_offload(m, s, outer_ipv6, 0);
    m->ol_flags |= RTE_MBUF_F_TX_OUTER_UDP_CKSUM | (outer_ipv6 ? 0 : RTE_MBUF_F_TX_OUTER_IP_CKSUM);
    rte_mbuf* out[2];
    const SegmentResult r = seg.segment(m, out, 2);
    ASSERT_EQ(r.count, 1);
    EXPECT_EQ(out[0], m);
    const Bytes done = flatten(m);
    const std::size_t outer = outer_ipv6 ? 70 : 50;
    EXPECT_TRUE(l4_checksum_ok(done, outer + 14, outer + 34, false, 6));
    EXPECT_TRUE(l4_checksum_ok(done, 14, outer - 16, outer_ipv6, 17));
    EXPECT_NE(get16(done, outer - 16 + 6), 0);
    EXPECT_TRUE(outer_ipv6 || ipv4_checksum_ok(done, 14));
    EXPECT_EQ(m->ol_flags & offload_request_flags(), 0u);
    rte_pktmbuf_free(m);
  }
  EXPECT_EQ(pools.in_use(), 0u);
}

TEST_F(SegmentTest, OutputOutlivesTheInputAndReleasesItsBuffers) {
  Segmenter seg = make(0);
  FrameSpec s;
  s.payload = 60000;
  s.csum = Csum::Partial;
  rte_mbuf* m = pools.chain(make_frame(s), 16000);
  const unsigned input_mbufs = m->nb_segs;
  set_offload(m, s, 1448);
  rte_mbuf* out[kMaxSegments];
  const SegmentResult r = seg.segment(m, out, kMaxSegments);
  ASSERT_EQ(r.count, 42);
  // The input's buffers are held by the segments that refer to them ...
  EXPECT_EQ(rte_mempool_in_use_count(pools.direct()), input_mbufs);
  EXPECT_EQ(rte_mempool_in_use_count(pools.header()), 42u);
  rte_pktmbuf_free_bulk(out, r.count - 1);
  EXPECT_GE(rte_mempool_in_use_count(pools.direct()), 1u);
  // ... and return with the last one.
  rte_pktmbuf_free(out[r.count - 1]);
  EXPECT_EQ(pools.in_use(), 0u);
}

// Every GSO drop reason, and the input stays the caller's, unchanged.
TEST_F(SegmentTest, EveryDropReason) {
  Segmenter seg = make(1024);
  std::set<Counter> seen;
  struct Case {
    const char* what;
    Counter reason;
    std::function<void(Bytes&, FrameSpec&)> edit_frame;
    std::function<void(rte_mbuf*)> edit_mbuf;
    std::size_t piece = 0;
  };
  const std::vector<Case> cases = {
      {"TCP_SEG and UDP_SEG", Counter::gso_bad_header, nullptr,
       [](rte_mbuf* m) { m->ol_flags |= RTE_MBUF_F_TX_UDP_SEG; }},
      {"IPv4 flag on an IPv6 frame", Counter::gso_bad_header, [](Bytes& f, FrameSpec&) { f[14] = 0x60; }, nullptr},
      {"no IP version flag", Counter::gso_bad_header, nullptr, [](rte_mbuf* m) { m->ol_flags &= ~RTE_MBUF_F_TX_IPV4; }},
      {"both IP version flags", Counter::gso_bad_header, nullptr,
       [](rte_mbuf* m) { m->ol_flags |= RTE_MBUF_F_TX_IPV6; }},
      {"l3_len not the IHL", Counter::gso_bad_header, nullptr, [](rte_mbuf* m) { m->l3_len = 24; }},
      {"l4_len not the data offset", Counter::gso_bad_header, nullptr, [](rte_mbuf* m) { m->l4_len = 24; }},
      {"IPv4 total length wrong", Counter::gso_bad_header, [](Bytes& f, FrameSpec&) { set16(f, 16, 1500); }, nullptr},
      {"IPv4 fragment", Counter::gso_bad_header, [](Bytes& f, FrameSpec&) { f[20] |= 0x20; }, nullptr},
      {"UDP, TCP_SEG", Counter::gso_bad_header, [](Bytes& f, FrameSpec&) { f[23] = 17; }, nullptr},
      {"TCP_SEG with UDP_CKSUM", Counter::gso_bad_header, nullptr,
       [](rte_mbuf* m) { m->ol_flags = (m->ol_flags & ~RTE_MBUF_F_TX_L4_MASK) | RTE_MBUF_F_TX_UDP_CKSUM; }},
      {"data offset below 5", Counter::gso_bad_header, [](Bytes& f, FrameSpec&) { f[46] = 0x40; },
       [](rte_mbuf* m) { m->l4_len = 16; }},
      {"l2_len into the payload", Counter::gso_bad_header, nullptr, [](rte_mbuf* m) { m->l2_len = 120; }},
      {"outer flag without tunnel", Counter::gso_bad_header, nullptr,
       [](rte_mbuf* m) { m->ol_flags |= RTE_MBUF_F_TX_OUTER_IPV4; }},
      {"segment size 0", Counter::gso_bad_mss, nullptr, [](rte_mbuf* m) { m->tso_segsz = 0; }},
      {"more segments than room", Counter::gso_bad_mss, nullptr, [](rte_mbuf* m) { m->tso_segsz = 50; }},
      {"IPv4 packet over 65535", Counter::gso_too_big, nullptr, nullptr, 30000},
      {"GRE tunnel", Counter::gso_unsupported, nullptr,
       [](rte_mbuf* m) { m->ol_flags |= RTE_MBUF_F_TX_TUNNEL_GRE | RTE_MBUF_F_TX_OUTER_IPV4; }},
      {"SCTP checksum", Counter::gso_unsupported, nullptr,
       [](rte_mbuf* m) { m->ol_flags = (m->ol_flags & ~RTE_MBUF_F_TX_L4_MASK) | RTE_MBUF_F_TX_SCTP_CKSUM; }},
      // A first mbuf shared with someone else cannot take the headers.
      {"headers split, first mbuf shared", Counter::gso_headers_split, nullptr,
       [](rte_mbuf* m) { rte_mbuf_refcnt_update(m, 1); }, 20},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    FrameSpec s;
    s.payload = std::string(c.what) == "IPv4 packet over 65535" ? 65535 - 40 + 1 : 9000;
    s.csum = Csum::Partial;
    Bytes f = make_frame(s);
    if (std::string(c.what) == "IPv4 packet over 65535") set16(f, 16, 0xffff);
    if (c.edit_frame) c.edit_frame(f, s);
    rte_mbuf* m = pools.chain(f, c.piece);
    set_offload(m, s, 1448);
    if (c.edit_mbuf) c.edit_mbuf(m);
    const Bytes before = flatten(m);
    rte_mbuf* out[kMaxSegments];
    const SegmentResult r = seg.segment(m, out, std::string(c.what) == "more segments than room" ? 16 : kMaxSegments);
    ASSERT_TRUE(r.drop.has_value());
    EXPECT_EQ(counter_name(*r.drop), counter_name(c.reason));
    EXPECT_EQ(r.count, 0);
    EXPECT_EQ(flatten(m), before);
    if (rte_mbuf_refcnt_read(m) > 1) rte_pktmbuf_free_seg(m);  // the extra reference of the shared case
    rte_pktmbuf_free(m);
    EXPECT_EQ(pools.in_use(), 0u);
    seen.insert(c.reason);
  }

  // Pools running dry: all headers at once, then the indirect pool mid-way.
  {
    Pools tiny(8, 4, 3);
    auto s2 = Segmenter::create(SegmentConfig{0}, tiny.header(), tiny.indirect(), &counters);
    ASSERT_TRUE(s2);
    FrameSpec s;
    s.payload = 9000;  // 7 segments: more than 4 header mbufs
    s.csum = Csum::Partial;
    const Bytes f = make_frame(s);
    for (int round = 0; round < 2; ++round) {
      rte_mbuf* m = tiny.chain(f, 5000);
      set_offload(m, s, round == 0 ? 1448 : 3000);  // round 1: 3 headers, 4 payload pieces > 3 indirect
      rte_mbuf* out[kMaxSegments];
      const SegmentResult r = s2->segment(m, out, kMaxSegments);
      ASSERT_TRUE(r.drop.has_value());
      EXPECT_EQ(*r.drop, Counter::no_mbuf);
      EXPECT_EQ(flatten(m), f);
      rte_pktmbuf_free(m);
      EXPECT_EQ(tiny.in_use(), 0u);
    }
    seen.insert(Counter::no_mbuf);
  }

  for (const auto& info : kCounterInfo) {
    if (info.kind != CounterKind::Drop || info.name.rfind("gso_", 0) != 0) continue;
    bool covered = false;
    for (Counter c : seen) covered |= counter_name(c) == info.name;
    EXPECT_TRUE(covered) << "drop reason '" << info.name << "' has no test";
  }
}

TEST_F(SegmentTest, HeadersSplitOverMbufsAreGathered) {
  Segmenter seg = make(1024);
  FrameSpec s;
  s.payload = 5000;
  s.options = kTimestamps;
  s.csum = Csum::Partial;
  for (std::size_t piece : {10u, 33u, 54u}) {
    SCOPED_TRACE(piece);
    rte_mbuf* m = pools.chain(make_frame(s), piece);
    set_offload(m, s, 1448);
    expect_segments(seg, m, reference_segments(s, 1448));
    EXPECT_EQ(pools.in_use(), 0u);
  }
}

}  // namespace
}  // namespace ferry::dataplane::test
