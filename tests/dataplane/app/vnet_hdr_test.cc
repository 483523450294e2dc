// virtio-net header <-> mbuf metadata: every gso_type and flag the kernel
// sends, each refusal with its reason, headers built for sending (pseudo-
// header sums cross-checked with DPDK's own), round trips, and super-frames
// as two-segment chains.
#include "dataplane/app/vnet_hdr.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstring>
#include <vector>

#include "tests/dataplane/app/eal_env.h"

namespace ferry::dataplane::app {
namespace {

struct FrameSpec {
  bool ipv6 = false;
  std::uint8_t proto = 6;  // 6 TCP, 17 UDP, 1 ICMP
  std::uint32_t payload = 100;
  std::uint32_t tcp_options = 12;  // bytes of TCP options (a multiple of 4)
  std::uint32_t ipv4_options = 0;  // bytes of IPv4 options
  bool hop_by_hop = false;         // IPv6: an 8-byte hop-by-hop header before L4
  bool vlan = false;
  bool fragment = false;  // IPv4 MF set
  std::uint8_t tcp_flags = 0x10;
};

// An Ethernet frame: header lengths right, checksum fields 0xdead, payload a pattern.
std::vector<std::uint8_t> frame(const FrameSpec& s) {
  std::vector<std::uint8_t> f;
  auto put16 = [&f](std::uint16_t v) {
    f.push_back(static_cast<std::uint8_t>(v >> 8));
    f.push_back(static_cast<std::uint8_t>(v));
  };
  for (int i = 0; i < 6; ++i) f.push_back(0x02);
  for (int i = 0; i < 6; ++i) f.push_back(static_cast<std::uint8_t>(0x10 + i));
  if (s.vlan) {
    put16(0x8100);
    put16(7);
  }
  put16(s.ipv6 ? 0x86dd : 0x0800);
  const std::uint32_t l4_len = s.proto == 6 ? 20 + s.tcp_options : 8;
  const std::uint32_t l4_total = l4_len + s.payload;
  if (s.ipv6) {
    const std::uint32_t ext = s.hop_by_hop ? 8 : 0;
    f.insert(f.end(), {0x60, 0, 0, 0});
    put16(static_cast<std::uint16_t>(ext + l4_total));
    f.push_back(s.hop_by_hop ? 0 : s.proto);
    f.push_back(64);
    for (int i = 0; i < 16; ++i) f.push_back(static_cast<std::uint8_t>(0xfd + i));  // source
    for (int i = 0; i < 16; ++i) f.push_back(static_cast<std::uint8_t>(0xfd - i));  // destination
    if (s.hop_by_hop) f.insert(f.end(), {s.proto, 0, 1, 4, 0, 0, 0, 0});            // PadN
  } else {
    const std::uint32_t ihl = 20 + s.ipv4_options;
    f.push_back(static_cast<std::uint8_t>(0x40 | (ihl / 4)));
    f.push_back(0);
    put16(static_cast<std::uint16_t>(ihl + l4_total));
    put16(0x1234);
    put16(s.fragment ? 0x2000 : 0x4000);
    f.push_back(64);
    f.push_back(s.proto);
    put16(0);
    f.insert(f.end(), {10, 0, 0, 1, 10, 0, 0, 2});
    for (std::uint32_t i = 0; i < s.ipv4_options; ++i) f.push_back(1);  // NOP
  }
  if (s.proto == 6) {
    put16(40000);
    put16(5201);
    f.insert(f.end(), {0, 0, 0, 1, 0, 0, 0, 2});
    f.push_back(static_cast<std::uint8_t>((l4_len / 4) << 4));
    f.push_back(s.tcp_flags);
    put16(512);
    put16(0xdead);
    put16(0);
    for (std::uint32_t i = 0; i < s.tcp_options; ++i) f.push_back(1);
  } else if (s.proto == 17) {
    put16(40000);
    put16(4789);
    put16(static_cast<std::uint16_t>(l4_total));
    put16(0xdead);
  } else {
    f.insert(f.end(), {8, 0, 0xde, 0xad, 0, 1, 0, 1});
  }
  for (std::uint32_t i = 0; i < s.payload; ++i) f.push_back(static_cast<std::uint8_t>(i * 7));
  return f;
}

class VnetHdrTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::eal_up()) GTEST_SKIP() << "EAL could not start (--no-huge) here";
    pool_ = rte_pktmbuf_pool_create(fmt::format("vh{}", counter_++).c_str(), 255, 0, 0, 32768 + RTE_PKTMBUF_HEADROOM,
                                    SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
  }
  void TearDown() override {
    for (auto* m : mbufs_) rte_pktmbuf_free(m);
    rte_mempool_free(pool_);
  }

  // The frame in one mbuf, or split after `split` bytes into a two-segment chain.
  rte_mbuf* mbuf(const std::vector<std::uint8_t>& bytes, std::uint32_t split = 0) {
    rte_mbuf* head = rte_pktmbuf_alloc(pool_);
    EXPECT_NE(head, nullptr);
    if (split >= bytes.size()) split = 0;  // small frames stay in one segment
    const std::uint32_t first = split == 0 ? static_cast<std::uint32_t>(bytes.size()) : split;
    std::memcpy(rte_pktmbuf_append(head, static_cast<std::uint16_t>(first)), bytes.data(), first);
    if (split != 0) {
      rte_mbuf* tail = rte_pktmbuf_alloc(pool_);
      const auto rest = static_cast<std::uint16_t>(bytes.size() - split);
      std::memcpy(rte_pktmbuf_append(tail, rest), bytes.data() + split, rest);
      EXPECT_EQ(rte_pktmbuf_chain(head, tail), 0);
    }
    mbufs_.push_back(head);
    return head;
  }

  static std::uint16_t field(const rte_mbuf* m, std::uint32_t offset) {
    std::uint16_t v;
    std::memcpy(&v, rte_pktmbuf_mtod_offset(m, const std::uint8_t*, offset), 2);
    return v;
  }

  static VnetHdr needs_csum(std::uint16_t start, std::uint16_t offset, std::uint8_t gso_type = kVnetGsoNone,
                            std::uint16_t gso_size = 0) {
    VnetHdr h;
    h.flags = kVnetNeedsCsum;
    h.gso_type = gso_type;
    h.gso_size = gso_size;
    h.csum_start = start;
    h.csum_offset = offset;
    return h;
  }

  static inline int counter_ = 0;
  rte_mempool* pool_ = nullptr;
  std::vector<rte_mbuf*> mbufs_;
};

constexpr std::uint64_t kOffloadFlags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_L4_MASK |
                                        RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG | RTE_MBUF_F_RX_L4_CKSUM_MASK;

// ---- parse ------------------------------------------------------------------

TEST(FrameLayout, FindsL3AndL4BehindVlanOptionsAndExtensionHeaders) {
  FrameLayout f;
  auto plain = frame({});
  ASSERT_TRUE(parse_frame_layout(plain.data(), static_cast<std::uint32_t>(plain.size()),
                                 static_cast<std::uint32_t>(plain.size()), f));
  EXPECT_EQ(f.l3, 14);
  EXPECT_EQ(f.l4, 34);
  EXPECT_EQ(f.l4_len, 32);
  EXPECT_EQ(f.proto, 6);
  EXPECT_EQ(f.ip_end, plain.size());

  auto tagged = frame({.ipv6 = true, .proto = 17, .hop_by_hop = true, .vlan = true});
  ASSERT_TRUE(parse_frame_layout(tagged.data(), static_cast<std::uint32_t>(tagged.size()),
                                 static_cast<std::uint32_t>(tagged.size()), f));
  EXPECT_EQ(f.l3, 18);
  EXPECT_EQ(f.l4, 18 + 40 + 8);
  EXPECT_EQ(f.l4_len, 8);
  EXPECT_TRUE(f.ipv6);

  auto opts = frame({.ipv4_options = 8});
  ASSERT_TRUE(parse_frame_layout(opts.data(), static_cast<std::uint32_t>(opts.size()),
                                 static_cast<std::uint32_t>(opts.size()), f));
  EXPECT_EQ(f.l4, 14 + 28);
}

TEST(FrameLayout, RefusesWhatHasNoOffloadableL4) {
  FrameLayout f;
  for (const auto& spec : {FrameSpec{.proto = 1}, FrameSpec{.fragment = true}, FrameSpec{.ipv6 = true, .proto = 58}}) {
    auto bytes = frame(spec);
    EXPECT_FALSE(parse_frame_layout(bytes.data(), static_cast<std::uint32_t>(bytes.size()),
                                    static_cast<std::uint32_t>(bytes.size()), f));
  }
  // Headers cut short of the TCP options; IP length beyond the frame.
  auto bytes = frame({});
  EXPECT_FALSE(parse_frame_layout(bytes.data(), 14 + 20 + 24, static_cast<std::uint32_t>(bytes.size()), f));
  EXPECT_FALSE(parse_frame_layout(bytes.data(), static_cast<std::uint32_t>(bytes.size()),
                                  static_cast<std::uint32_t>(bytes.size() - 1), f));
}

// ---- receive ----------------------------------------------------------------

TEST_F(VnetHdrTest, NoFlagsLeaveTheFrameAloneDataValidMarksItGood) {
  rte_mbuf* m = mbuf(frame({}));
  EXPECT_EQ(vnet_hdr_to_mbuf(VnetHdr{}, m), VnetDrop::kNone);
  EXPECT_EQ(m->ol_flags & kOffloadFlags, 0U);
  VnetHdr valid;
  valid.flags = kVnetDataValid;
  EXPECT_EQ(vnet_hdr_to_mbuf(valid, m), VnetDrop::kNone);
  EXPECT_EQ(m->ol_flags & kOffloadFlags, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
}

TEST_F(VnetHdrTest, NeedsCsumBecomesAnL4ChecksumRequest) {
  rte_mbuf* tcp4 = mbuf(frame({}));
  ASSERT_EQ(vnet_hdr_to_mbuf(needs_csum(34, 16), tcp4), VnetDrop::kNone);
  EXPECT_EQ(tcp4->ol_flags & kOffloadFlags, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM);
  EXPECT_EQ(tcp4->l2_len, 14);
  EXPECT_EQ(tcp4->l3_len, 20);
  EXPECT_EQ(tcp4->l4_len, 32);
  EXPECT_EQ(field(tcp4, 34 + 16), 0xadde) << "the checksum field is left as the kernel made it";

  rte_mbuf* udp6 = mbuf(frame({.ipv6 = true, .proto = 17, .hop_by_hop = true}));
  ASSERT_EQ(vnet_hdr_to_mbuf(needs_csum(14 + 48, 6), udp6), VnetDrop::kNone);
  EXPECT_EQ(udp6->ol_flags & kOffloadFlags, RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM);
  EXPECT_EQ(udp6->l3_len, 48) << "IPv6 l3_len includes extension headers";
  EXPECT_EQ(udp6->l4_len, 8);

  // NEEDS_CSUM wins over DATA_VALID.
  rte_mbuf* both = mbuf(frame({}));
  VnetHdr h = needs_csum(34, 16);
  h.flags |= kVnetDataValid;
  ASSERT_EQ(vnet_hdr_to_mbuf(h, both), VnetDrop::kNone);
  EXPECT_EQ(both->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, 0U);
}

TEST_F(VnetHdrTest, EveryGsoTypeBecomesASuperFrame) {
  struct Case {
    FrameSpec spec;
    std::uint8_t gso_type;
    std::uint16_t csum_offset;
    std::uint64_t flags;
  };
  const Case cases[] = {
      {{.payload = 9000}, kVnetGsoTcpV4, 16, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG},
      {{.payload = 9000, .tcp_flags = 0x90},
       kVnetGsoTcpV4 | kVnetGsoEcn,
       16,
       RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG},
      {{.ipv6 = true, .payload = 9000},
       kVnetGsoTcpV6,
       16,
       RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG},
      {{.ipv6 = true, .payload = 9000, .hop_by_hop = true},
       kVnetGsoTcpV6 | kVnetGsoEcn,
       16,
       RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG},
      {{.proto = 17, .payload = 9000},
       kVnetGsoUdpL4,
       6,
       RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_UDP_SEG},
      {{.ipv6 = true, .proto = 17, .payload = 9000},
       kVnetGsoUdpL4,
       6,
       RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_UDP_SEG},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(static_cast<int>(c.gso_type));
    const auto bytes = frame(c.spec);
    FrameLayout f;
    ASSERT_TRUE(parse_frame_layout(bytes.data(), static_cast<std::uint32_t>(bytes.size()),
                                   static_cast<std::uint32_t>(bytes.size()), f));
    for (std::uint32_t split : {0U, 200U}) {  // one segment, and a chain
      rte_mbuf* m = mbuf(bytes, split);
      ASSERT_EQ(vnet_hdr_to_mbuf(needs_csum(f.l4, c.csum_offset, c.gso_type, 1400), m), VnetDrop::kNone);
      EXPECT_EQ(m->ol_flags & kOffloadFlags, c.flags);
      EXPECT_EQ(m->tso_segsz, 1400);
      EXPECT_EQ(m->l2_len + m->l3_len, f.l4);
      EXPECT_EQ(m->l4_len, f.l4_len);
    }
  }
}

TEST_F(VnetHdrTest, OneSegmentOrLessIsNotASuperFrame) {
  // 20-byte TCP header + 12 option bytes + 1388 payload: 1400 past the
  // minimal TCP header, not more than gso_size: the kernel's rule.
  rte_mbuf* m = mbuf(frame({.payload = 1388}));
  ASSERT_EQ(vnet_hdr_to_mbuf(needs_csum(34, 16, kVnetGsoTcpV4, 1400), m), VnetDrop::kNone);
  EXPECT_EQ(m->ol_flags & kOffloadFlags, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM);
  rte_mbuf* one_more = mbuf(frame({.payload = 1389}));
  ASSERT_EQ(vnet_hdr_to_mbuf(needs_csum(34, 16, kVnetGsoTcpV4, 1400), one_more), VnetDrop::kNone);
  EXPECT_NE(one_more->ol_flags & RTE_MBUF_F_TX_TCP_SEG, 0U);
}

TEST_F(VnetHdrTest, TcpGsoWithoutNeedsCsumGetsThePseudoHeaderAsTheKernelDoes) {
  for (bool ipv6 : {false, true}) {
    SCOPED_TRACE(ipv6);
    rte_mbuf* m = mbuf(frame({.ipv6 = ipv6, .payload = 5000}));
    VnetHdr h;
    h.gso_type = ipv6 ? kVnetGsoTcpV6 : kVnetGsoTcpV4;
    h.gso_size = 1000;
    ASSERT_EQ(vnet_hdr_to_mbuf(h, m), VnetDrop::kNone);
    EXPECT_NE(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG, 0U);
    // DPDK's pseudo-header sums (with the L4 length: no TCP_SEG flag given).
    const std::uint16_t want = ipv6 ? rte_ipv6_phdr_cksum(rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, 14), 0)
                                    : rte_ipv4_phdr_cksum(rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, 14), 0);
    EXPECT_EQ(field(m, 14 + (ipv6 ? 40 : 20) + 16), want);
  }
}

TEST_F(VnetHdrTest, InconsistentHeadersAreDropsWithAReason) {
  struct Case {
    const char* what;
    FrameSpec spec;
    VnetHdr hdr;
    VnetDrop want;
  };
  const FrameSpec big{.payload = 9000};
  const FrameSpec big6{.ipv6 = true, .payload = 9000};
  const FrameSpec udp{.proto = 17, .payload = 9000};
  const Case cases[] = {
      {"legacy UFO", udp, needs_csum(34, 6, kVnetGsoUdp, 1400), VnetDrop::vnet_bad_gso_type},
      {"unknown GSO type", big, needs_csum(34, 16, 2, 1400), VnetDrop::vnet_bad_gso_type},
      {"ECN alone", big, needs_csum(34, 16, kVnetGsoEcn, 1400), VnetDrop::vnet_bad_gso_type},
      {"ECN on UDP", udp, needs_csum(34, 6, kVnetGsoUdpL4 | kVnetGsoEcn, 1400), VnetDrop::vnet_bad_gso_type},
      {"gso_size 0", big, needs_csum(34, 16, kVnetGsoTcpV4, 0), VnetDrop::vnet_bad_gso_size},
      {"UDP GSO over 64 segments", udp, needs_csum(34, 6, kVnetGsoUdpL4, 100), VnetDrop::vnet_bad_gso_size},
      {"csum_start not L4", big, needs_csum(30, 16), VnetDrop::vnet_bad_csum_start},
      {"csum_start in IPv4 options", FrameSpec{.ipv4_options = 4}, needs_csum(34, 16), VnetDrop::vnet_bad_csum_start},
      {"UDP offset on TCP", big, needs_csum(34, 6), VnetDrop::vnet_bad_csum_offset},
      {"TCP offset on UDP", udp, needs_csum(34, 16), VnetDrop::vnet_bad_csum_offset},
      {"TCPV4 on IPv6", big6, needs_csum(54, 16, kVnetGsoTcpV4, 1400), VnetDrop::vnet_gso_mismatch},
      {"TCPV6 on IPv4", big, needs_csum(34, 16, kVnetGsoTcpV6, 1400), VnetDrop::vnet_gso_mismatch},
      {"UDP_L4 on TCP", big, needs_csum(34, 16, kVnetGsoUdpL4, 1400), VnetDrop::vnet_gso_mismatch},
      {"TCPV4 on UDP", udp, needs_csum(34, 6, kVnetGsoTcpV4, 1400), VnetDrop::vnet_gso_mismatch},
      {"UDP_L4 without NEEDS_CSUM", udp, VnetHdr{0, kVnetGsoUdpL4, 0, 1400, 0, 0}, VnetDrop::vnet_gso_mismatch},
      {"NEEDS_CSUM on ICMP", FrameSpec{.proto = 1}, needs_csum(34, 2), VnetDrop::vnet_bad_headers},
      {"NEEDS_CSUM on a fragment", FrameSpec{.fragment = true}, needs_csum(34, 16), VnetDrop::vnet_bad_headers},
      {"GSO on ICMPv6", FrameSpec{.ipv6 = true, .proto = 58}, VnetHdr{0, kVnetGsoTcpV6, 0, 1400, 0, 0},
       VnetDrop::vnet_bad_headers},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    rte_mbuf* m = mbuf(frame(c.spec));
    EXPECT_EQ(vnet_hdr_to_mbuf(c.hdr, m), c.want);
  }
  // Every receive-side reason has a name and help text for stats.
  for (const auto& info : kVnetDropInfo) {
    EXPECT_EQ(info.name.rfind("vnet_", 0), 0U);
    EXPECT_FALSE(info.help.empty());
  }
}

// ---- send -------------------------------------------------------------------

TEST_F(VnetHdrTest, CompleteChecksumsAskForNothing) {
  rte_mbuf* m = mbuf(frame({}));
  m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_GOOD;  // DATA_VALID is not honoured on send
  VnetHdr h;
  h.flags = 0xff;
  ASSERT_EQ(mbuf_to_vnet_hdr(m, h), VnetDrop::kNone);
  EXPECT_EQ(h.flags, 0);
  EXPECT_EQ(h.gso_type, kVnetGsoNone);
  EXPECT_EQ(field(m, 34 + 16), 0xadde) << "a complete checksum is left alone";
}

TEST_F(VnetHdrTest, ChecksumRequestBecomesNeedsCsumWithThePseudoHeaderInPlace) {
  for (bool ipv6 : {false, true}) {
    for (std::uint8_t proto : {std::uint8_t{6}, std::uint8_t{17}}) {
      SCOPED_TRACE(fmt::format("ipv6 {} proto {}", ipv6, proto));
      rte_mbuf* m = mbuf(frame({.ipv6 = ipv6, .proto = proto}));
      m->ol_flags = (ipv6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4) |
                    (proto == 6 ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM);
      VnetHdr h;
      ASSERT_EQ(mbuf_to_vnet_hdr(m, h), VnetDrop::kNone);
      const std::uint16_t l4 = ipv6 ? 54 : 34;
      EXPECT_EQ(h.flags, kVnetNeedsCsum);
      EXPECT_EQ(h.gso_type, kVnetGsoNone);
      EXPECT_EQ(h.csum_start, l4);
      EXPECT_EQ(h.csum_offset, proto == 6 ? 16 : 6);
      const std::uint16_t want = ipv6 ? rte_ipv6_phdr_cksum(rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, 14), 0)
                                      : rte_ipv4_phdr_cksum(rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, 14), 0);
      EXPECT_EQ(field(m, l4 + h.csum_offset), want);
    }
  }
}

TEST_F(VnetHdrTest, SuperFramesGetTheirGsoType) {
  struct Case {
    FrameSpec spec;
    std::uint64_t flags;
    std::uint8_t gso_type;
    std::uint16_t hdr_len;
  };
  const Case cases[] = {
      {{.payload = 20000}, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG, kVnetGsoTcpV4, 66},
      {{.payload = 20000, .tcp_flags = 0x90},  // CWR: the kernel's ECN bit
       RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG,
       kVnetGsoTcpV4 | kVnetGsoEcn,
       66},
      {{.ipv6 = true, .payload = 20000},
       RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG,
       kVnetGsoTcpV6,
       86},
      {{.ipv6 = true, .payload = 20000},
       RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_SEG,  // TCP_SEG implies the checksum
       kVnetGsoTcpV6,
       86},
      {{.proto = 17, .payload = 20000}, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_SEG, kVnetGsoUdpL4, 42},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(static_cast<int>(c.gso_type));
    rte_mbuf* m = mbuf(frame(c.spec), 1000);
    m->ol_flags = c.flags;
    m->tso_segsz = 1400;
    VnetHdr h;
    ASSERT_EQ(mbuf_to_vnet_hdr(m, h), VnetDrop::kNone);
    EXPECT_EQ(h.flags, kVnetNeedsCsum);
    EXPECT_EQ(h.gso_type, c.gso_type);
    EXPECT_EQ(h.gso_size, 1400);
    EXPECT_EQ(h.hdr_len, c.hdr_len);
  }
  // A "super-frame" of one segment's payload is sent as a plain checksum request.
  rte_mbuf* small = mbuf(frame({.payload = 1400}));
  small->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG;
  small->tso_segsz = 1400;
  VnetHdr h;
  ASSERT_EQ(mbuf_to_vnet_hdr(small, h), VnetDrop::kNone);
  EXPECT_EQ(h.gso_type, kVnetGsoNone);
  EXPECT_EQ(h.flags, kVnetNeedsCsum);
}

TEST_F(VnetHdrTest, BadSendMetadataIsRefused) {
  auto with = [this](const FrameSpec& spec, std::uint64_t flags, std::uint16_t mss) {
    rte_mbuf* m = mbuf(frame(spec));
    m->ol_flags = flags;
    m->tso_segsz = mss;
    VnetHdr h;
    return mbuf_to_vnet_hdr(m, h);
  };
  constexpr auto kTcpSeg = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG;
  EXPECT_EQ(with({.proto = 17}, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM, 0), VnetDrop::vnet_tx_bad_offload);
  EXPECT_EQ(with({}, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM, 0), VnetDrop::vnet_tx_bad_offload);
  EXPECT_EQ(with({.proto = 1}, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM, 0), VnetDrop::vnet_tx_bad_offload);
  EXPECT_EQ(with({.payload = 5000}, kTcpSeg, 0), VnetDrop::vnet_tx_bad_offload) << "tso_segsz 0";
  EXPECT_EQ(with({.proto = 17, .payload = 9000}, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_SEG, 100),
            VnetDrop::vnet_tx_too_big)
      << "more than 64 UDP segments";

  // An IPv4 total length that does not cover the frame (a merge that
  // overflowed 16 bits): never sent as a super-frame.
  auto bytes = frame({.payload = 5000});
  bytes.resize(bytes.size() + 100);
  rte_mbuf* m = mbuf(bytes);
  m->ol_flags = kTcpSeg;
  m->tso_segsz = 1000;
  VnetHdr h;
  EXPECT_EQ(mbuf_to_vnet_hdr(m, h), VnetDrop::vnet_tx_too_big);
}

// What the kernel hands over comes back out the same (for the header fields
// AF_PACKET reads on send).
TEST_F(VnetHdrTest, KernelHeadersRoundTrip) {
  struct Case {
    FrameSpec spec;
    VnetHdr hdr;
  };
  const Case cases[] = {
      {{.payload = 30000}, VnetHdr{kVnetNeedsCsum, kVnetGsoTcpV4, 66, 1448, 34, 16}},
      {{.payload = 30000, .tcp_flags = 0x90}, VnetHdr{kVnetNeedsCsum, kVnetGsoTcpV4 | kVnetGsoEcn, 66, 1448, 34, 16}},
      {{.ipv6 = true, .payload = 30000}, VnetHdr{kVnetNeedsCsum, kVnetGsoTcpV6, 86, 1428, 54, 16}},
      {{.proto = 17, .payload = 14000}, VnetHdr{kVnetNeedsCsum, kVnetGsoUdpL4, 42, 1400, 34, 6}},
      {{.payload = 500}, VnetHdr{kVnetNeedsCsum, kVnetGsoNone, 0, 0, 34, 16}},
      {{.ipv6 = true, .proto = 17, .payload = 500}, VnetHdr{kVnetNeedsCsum, kVnetGsoNone, 0, 0, 54, 6}},
      {{.payload = 500}, VnetHdr{}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(static_cast<int>(c.hdr.gso_type));
    rte_mbuf* m = mbuf(frame(c.spec), 2000);
    ASSERT_EQ(vnet_hdr_to_mbuf(c.hdr, m), VnetDrop::kNone);
    VnetHdr out;
    ASSERT_EQ(mbuf_to_vnet_hdr(m, out), VnetDrop::kNone);
    EXPECT_EQ(out.flags, c.hdr.flags);
    EXPECT_EQ(out.gso_type, c.hdr.gso_type);
    EXPECT_EQ(out.gso_size, c.hdr.gso_size);
    EXPECT_EQ(out.csum_start, c.hdr.csum_start);
    EXPECT_EQ(out.csum_offset, c.hdr.csum_offset);
    if (c.hdr.gso_type != kVnetGsoNone) {
      EXPECT_EQ(out.hdr_len, c.hdr.hdr_len);
    }
  }
}

}  // namespace
}  // namespace ferry::dataplane::app
