// Byte for byte against the running kernel (tests/data/gso, made by
// tests/tools/gso_capture.py): segment(super-frame) == the segments Linux's
// own GSO cut from it, and coalesce(those segments) == the super-frame.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <fstream>
#include <sstream>

#include "dataplane/core/coalesce.h"
#include "dataplane/core/segment.h"
#include "tests/dataplane/core/gso_golden.h"
#include "tests/dataplane/core/offload_support.h"
#include "tests/dataplane/core/pcap.h"

namespace ferry::dataplane::test {
namespace {

std::vector<Golden> load() { return load_golden(); }

TEST(GsoGolden, TheCaptureCoversTheCases) {
  const auto golden = load();
  ASSERT_EQ(golden.size(), 12u);
  int v4 = 0, v6 = 0, udp = 0, cwr = 0, fin = 0, tail = 0, exact = 0, full = 0;
  for (const Golden& g : golden) {
    const std::uint8_t type = g.gso_type & 0x7f;
    v4 += type == kGsoTcpV4;
    v6 += type == kGsoTcpV6;
    udp += type == kGsoUdpL4;
    if (type == kGsoUdpL4) continue;
    const std::uint8_t flags = g.super[g.csum_start + 13];
    cwr += (flags & kCwr) != 0 && (g.gso_type & kGsoEcn) != 0;
    fin += (flags & kFin) != 0;
    const std::size_t last = g.segments.back().size(), first = g.segments.front().size();
    tail += last < first;
    exact += last == first && g.segments.size() > 1;
    full += g.super.size() > 60000;
  }
  EXPECT_EQ(v4, 5);
  EXPECT_EQ(v6, 5);
  EXPECT_EQ(udp, 2);
  EXPECT_EQ(cwr, 2);
  EXPECT_EQ(fin, 2);
  EXPECT_GE(tail, 4);
  EXPECT_GE(exact, 2);
  EXPECT_EQ(full, 2);
}

TEST(GsoGolden, SegmentationMatchesTheKernel) {
  Pools pools;
  LcoreCounters counters;
  const auto golden = load();
  ASSERT_FALSE(golden.empty());
  std::size_t segments = 0;
  for (std::uint16_t copy_max : {std::uint16_t{0}, SegmentConfig{}.copy_max, std::uint16_t{1900}}) {
    auto seg = Segmenter::create(SegmentConfig{copy_max}, pools.header(), pools.indirect(), &counters);
    ASSERT_TRUE(seg);
    for (std::size_t piece : {0u, 4000u}) {
      for (const Golden& g : golden) {
        SCOPED_TRACE(testing::Message() << g.label << ", copy_max " << copy_max << ", pieces " << piece);
        rte_mbuf* m = pools.chain(g.super, piece);
        set_from_vnet(m, g);
        rte_mbuf* out[kMaxSegments];
        const SegmentResult r = seg->segment(m, out, kMaxSegments);
        ASSERT_FALSE(r.drop) << counter_name(*r.drop);
        ASSERT_EQ(r.count, g.segments.size());
        for (std::uint16_t i = 0; i < r.count; ++i) {
          EXPECT_EQ(flatten(out[i]), g.segments[i]) << "segment " << i;
        }
        segments += r.count;
        rte_pktmbuf_free_bulk(out, r.count);
        ASSERT_EQ(pools.in_use(), 0u);
      }
    }
  }
  EXPECT_EQ(counter(counters, Counter::gso_segments), segments);
}

// The super-frame `g` inside the outer headers the kernel put on its first
// VXLAN segment (`kernel_first`, IPv`version` outside), the outer lengths set
// for the whole frame, as a chain marked for tunnel segmentation.
rte_mbuf* vxlan_super_frame(Pools& pools, const Golden& g, const Bytes& kernel_first, unsigned version) {
  const std::size_t outer = version == 4 ? 50 : 70;
  Bytes frame(kernel_first.begin(), kernel_first.begin() + static_cast<std::ptrdiff_t>(outer));
  frame.insert(frame.end(), g.super.begin(), g.super.end());
  const std::size_t udp = outer - 16;
  if (version == 4) {
    set16(frame, 16, static_cast<std::uint16_t>(frame.size() - 14));
  } else {
    set16(frame, 18, static_cast<std::uint16_t>(frame.size() - 54));
  }
  set16(frame, udp + 4, static_cast<std::uint16_t>(frame.size() - udp));
  rte_mbuf* m = pools.chain(frame, 3000);
  set_from_vnet(m, g);
  m->ol_flags |= RTE_MBUF_F_TX_TUNNEL_VXLAN | (version == 4 ? RTE_MBUF_F_TX_OUTER_IPV4 : RTE_MBUF_F_TX_OUTER_IPV6);
  m->outer_l2_len = 14;
  m->outer_l3_len = version == 4 ? 20 : 40;
  m->l2_len = 8 + 8 + 14;
  return m;
}

// The same super-frames through the kernel's VXLAN devices (IPv4 outer with
// the UDP checksum 0, IPv6 outer with it made): given the super-frame inside
// the outer headers the kernel put on its first segment (lengths set for the
// whole frame), segmentation makes the kernel's outer segments byte for byte:
// outer lengths, outer IPv4 id counting and checksum, outer UDP checksum.
TEST(GsoGolden, VxlanSegmentationMatchesTheKernel) {
  Pools pools;
  LcoreCounters counters;
  const auto golden = load();
  ASSERT_FALSE(golden.empty());
  auto segs = read_pcap(FERRY_TEST_DATA "/gso/vxlan-segments.pcap");
  ASSERT_TRUE(segs);
  std::ifstream index(FERRY_TEST_DATA "/gso/vxlan-index.txt");
  std::string line;
  int cases = 0, outer6 = 0;
  for (std::uint16_t copy_max : {std::uint16_t{0}, SegmentConfig{}.copy_max}) {
    auto seg = Segmenter::create(SegmentConfig{copy_max}, pools.header(), pools.indirect(), &counters);
    ASSERT_TRUE(seg);
    index.clear();
    index.seekg(0);
    while (std::getline(index, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream in(line);
      unsigned n, version, first, count;
      std::string label;
      in >> n >> label >> version >> first >> count;
      ASSERT_TRUE(in) << line;
      SCOPED_TRACE(testing::Message() << label << " in VXLAN over IPv" << version << ", copy_max " << copy_max);
      const Golden& g = golden.at(n);
      rte_mbuf* m = vxlan_super_frame(pools, g, segs->at(first).bytes, version);
      rte_mbuf* out[kMaxSegments];
      const SegmentResult r = seg->segment(m, out, kMaxSegments);
      ASSERT_FALSE(r.drop) << counter_name(*r.drop);
      ASSERT_EQ(r.count, count);
      for (std::uint16_t i = 0; i < r.count; ++i) {
        EXPECT_EQ(flatten(out[i]), segs->at(first + i).bytes) << "segment " << i;
      }
      rte_pktmbuf_free_bulk(out, r.count);
      ASSERT_EQ(pools.in_use(), 0u);
      ++cases;
      outer6 += version == 6;
    }
  }
  EXPECT_EQ(cases, 10);
  EXPECT_EQ(outer6, 4);
}

// A gathered segment as one byte string: its headers, then its slices.
Bytes gathered(const std::uint8_t* headers, std::uint32_t header_size, const iovec* slices, std::uint32_t n) {
  Bytes out(headers, headers + header_size);
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto* p = static_cast<const std::uint8_t*>(slices[i].iov_base);
    out.insert(out.end(), p, p + slices[i].iov_len);
  }
  return out;
}

// The segments SegmentGather describes (headers written, payload referenced
// in place) are the kernel's, byte for byte, whatever the chain's pieces,
// and its slices stay within the bounds it announces.
TEST(GsoGolden, GatheredSegmentsMatchTheKernel) {
  Pools pools;
  const auto golden = load();
  ASSERT_FALSE(golden.empty());
  SegmentGather gather;
  std::size_t segments = 0;
  for (std::size_t piece : {0u, 4000u, 333u}) {
    for (const Golden& g : golden) {
      SCOPED_TRACE(testing::Message() << g.label << ", pieces " << piece);
      rte_mbuf* m = pools.chain(g.super, piece);
      set_from_vnet(m, g);
      ASSERT_FALSE(gather.start(m));
      ASSERT_EQ(gather.segments(), g.segments.size());
      std::vector<iovec> slices(gather.max_slices());
      std::uint32_t used = 0;
      std::vector<std::uint8_t> headers(256);
      for (std::size_t i = 0; i < g.segments.size(); ++i) {
        const SegmentGather::Piece p = gather.next(headers.data(), slices.data() + used);
        EXPECT_LE(p.slices, gather.max_segment_slices());
        EXPECT_EQ(gathered(headers.data(), gather.header_size(), slices.data() + used, p.slices), g.segments[i])
            << "segment " << i;
        used += p.slices;
      }
      EXPECT_LE(used, gather.max_slices());
      EXPECT_GT(gather.summed(), g.super.size() - gather.header_size());
      segments += g.segments.size();
      rte_pktmbuf_free(m);
      ASSERT_EQ(pools.in_use(), 0u);
    }
  }
  EXPECT_GT(segments, 0u);
}

// The same through VXLAN: headers (outer ones too) and slices make the
// kernel's VXLAN segments.
TEST(GsoGolden, GatheredVxlanSegmentsMatchTheKernel) {
  Pools pools;
  const auto golden = load();
  ASSERT_FALSE(golden.empty());
  auto segs = read_pcap(FERRY_TEST_DATA "/gso/vxlan-segments.pcap");
  ASSERT_TRUE(segs);
  std::ifstream index(FERRY_TEST_DATA "/gso/vxlan-index.txt");
  std::string line;
  int cases = 0;
  SegmentGather gather;
  while (std::getline(index, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    unsigned n, version, first, count;
    std::string label;
    in >> n >> label >> version >> first >> count;
    ASSERT_TRUE(in) << line;
    SCOPED_TRACE(testing::Message() << label << " in VXLAN over IPv" << version);
    const Golden& g = golden.at(n);
    rte_mbuf* m = vxlan_super_frame(pools, g, segs->at(first).bytes, version);
    ASSERT_FALSE(gather.start(m));
    ASSERT_EQ(gather.segments(), count);
    std::vector<iovec> slices(gather.max_segment_slices());
    std::vector<std::uint8_t> headers(256);
    for (unsigned i = 0; i < count; ++i) {
      const SegmentGather::Piece p = gather.next(headers.data(), slices.data());
      EXPECT_EQ(gathered(headers.data(), gather.header_size(), slices.data(), p.slices), segs->at(first + i).bytes)
          << "segment " << i;
    }
    rte_pktmbuf_free(m);
    ASSERT_EQ(pools.in_use(), 0u);
    ++cases;
  }
  EXPECT_EQ(cases, 5);
}

// Linux's GRO would rebuild the super-frame from these segments; so does
// ours, to the byte: headers of the first segment, lengths and IPv4 checksum
// recomputed, PSH/FIN from the last, the pseudo-header sum in the TCP
// checksum field (what the sender's kernel had there), gso_size the MSS.
TEST(GsoGolden, CoalescingRebuildsTheSuperFrame) {
  Pools pools;
  LcoreCounters counters;
  Coalescer coalescer(&counters);
  const auto golden = load();
  ASSERT_FALSE(golden.empty());
  int rebuilt = 0;
  for (const Golden& g : golden) {
    if ((g.gso_type & 0x7f) == kGsoUdpL4) continue;  // UDP is not coalesced
    SCOPED_TRACE(g.label);
    std::vector<rte_mbuf*> in, out(g.segments.size());
    for (const Bytes& s : g.segments) in.push_back(pools.chain(s));
    const std::vector<std::uint32_t> keys(in.size(), 4242);
    const std::uint16_t n =
        coalescer.coalesce(in.data(), keys.data(), static_cast<std::uint16_t>(in.size()), out.data());
    ASSERT_EQ(n, 1);
    EXPECT_EQ(flatten(out[0]), g.super);
    EXPECT_EQ(out[0]->tso_segsz, g.gso_size);
    EXPECT_TRUE(out[0]->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
    EXPECT_TRUE(out[0]->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM);
    EXPECT_EQ(out[0]->l2_len + out[0]->l3_len, g.csum_start);
    EXPECT_EQ((g.super[g.csum_start + 13] & kCwr) != 0, (g.gso_type & kGsoEcn) != 0);
    rte_pktmbuf_free(out[0]);
    ++rebuilt;
  }
  EXPECT_EQ(rebuilt, 10);
  EXPECT_EQ(counter(counters, Counter::superframes_out), 10u);
  EXPECT_EQ(counter(counters, Counter::gro_bad_checksum), 0u);
  EXPECT_EQ(pools.in_use(), 0u);
}

}  // namespace
}  // namespace ferry::dataplane::test
