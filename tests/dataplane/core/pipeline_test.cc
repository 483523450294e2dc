// Pipeline behaviour: every drop reason, ARP proxy, local switching,
// replication, MTU, anti-spoofing, source-port entropy, malformed frames.
#include "dataplane/core/pipeline.h"

#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <functional>
#include <map>
#include <random>
#include <set>

#include "tests/dataplane/core/harness.h"

namespace ferry::dataplane::test {
namespace {

const MacAddr kOtherMac{{0x02, 0x00, 0x0a, 0x01, 0x00, 0x09}};
const MacAddr kBroadcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
const MacAddr kZeroMac{};

Bytes to_remote(std::size_t payload = 18, std::uint16_t sport = 1000) {
  return inner_udp(kRemoteMac, kLocalMac, kLocalIp, kRemoteIp, sport, 80, payload);
}
Bytes to_local(std::size_t payload = 18) {
  return inner_udp(kLocalMac, kRemoteMac, kRemoteIp, kLocalIp, 80, 1000, payload);
}

// Returns a copy of an outer frame with its IPv4 checksum recomputed.
Bytes fix_ip_checksum(Bytes f) {
  put_be16(f, 24, 0);
  put_be16(f, 24, static_cast<std::uint16_t>(~ip_checksum_fold(f.data() + 14, 20)));
  return f;
}

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override { h.program_host_a(); }
  void TearDown() override { EXPECT_EQ(h.mbufs_in_use(), 0u) << "mbuf leak"; }
  Harness h;
};

// ---------------------------------------------------------------------------
// Encapsulation

TEST_F(PipelineTest, EncapHeaderFields) {
  for (std::size_t payload : {0u, 18u, 200u, 1000u, 1422u}) {
    const Bytes inner = to_remote(payload);
    const auto sent = h.from_endpoint(kLocalPort, inner);
    ASSERT_EQ(sent.size(), 1u);
    const Bytes& o = sent[0].bytes;
    ASSERT_EQ(o.size(), inner.size() + 50);
    EXPECT_EQ(Bytes(o.begin(), o.begin() + 6), mac_bytes(kRemoteHostMac));
    EXPECT_EQ(Bytes(o.begin() + 6, o.begin() + 12), mac_bytes(kUplinkMac));
    EXPECT_EQ(be16(o, 12), 0x0800);
    EXPECT_EQ(o[14], 0x45);
    EXPECT_EQ(be16(o, 16), inner.size() + 36) << "IPv4 total length";
    EXPECT_EQ(o[20] & 0x40, 0x40) << "DF";
    EXPECT_EQ(o[22], 64) << "TTL";
    EXPECT_EQ(o[23], 17);
    EXPECT_EQ(ip_checksum_fold(o.data() + 14, 20), 0xffff) << "IPv4 checksum for inner size " << inner.size();
    EXPECT_EQ(be16(o, 36), 4789);
    EXPECT_EQ(be16(o, 38), inner.size() + 16) << "UDP length";
    EXPECT_EQ(be16(o, 40), 0);
    EXPECT_EQ(o[42], 0x08);
    EXPECT_EQ((o[46] << 16) | (o[47] << 8) | o[48], static_cast<int>(kVni));
    EXPECT_EQ(o[49], 0);
    EXPECT_EQ(Bytes(o.begin() + 50, o.end()), inner);
  }
  EXPECT_EQ(h.stats()[Counter::encap], 5u);
}

TEST(PipelineConfigTest, CustomUdpPortTtlAndDscp) {
  PipelineConfig c = Harness::default_config();
  c.underlay.udp_port = 8472;
  c.underlay.ttl = 5;
  c.underlay.dscp = 46;
  Harness h(c);
  h.program_host_a();
  const auto sent = h.from_endpoint(kLocalPort, to_remote());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(be16(sent[0].bytes, 36), 8472);
  EXPECT_EQ(sent[0].bytes[22], 5);
  EXPECT_EQ(sent[0].bytes[15], 46 << 2);
  EXPECT_EQ(ip_checksum_fold(sent[0].bytes.data() + 14, 20), 0xffff);
  // And it accepts VXLAN on that port only.
  EXPECT_EQ(h.from_uplink(vxlan(to_local(), kVni, kVtepB, kVtepA, 50000, 8472)).size(), 1u);
  EXPECT_TRUE(h.from_uplink(vxlan(to_local(), kVni)).empty());
  EXPECT_EQ(h.stats()[Counter::not_vxlan], 1u);
}

TEST_F(PipelineTest, SourcePortEntropy) {
  // Same flow, same port, every time.
  std::uint16_t first = 0;
  for (int i = 0; i < 10; ++i) {
    const auto sent = h.from_endpoint(kLocalPort, to_remote(18, 4242));
    ASSERT_EQ(sent.size(), 1u);
    if (i == 0) first = be16(sent[0].bytes, 34);
    EXPECT_EQ(be16(sent[0].bytes, 34), first);
  }
  // 2000 flows spread over the 16384-port range.
  std::set<std::uint16_t> ports;
  std::array<int, 16> buckets{};
  for (int flow = 0; flow < 2000; ++flow) {
    const auto sent = h.from_endpoint(kLocalPort, to_remote(18, static_cast<std::uint16_t>(10000 + flow)));
    ASSERT_EQ(sent.size(), 1u);
    const std::uint16_t sport = be16(sent[0].bytes, 34);
    ASSERT_GE(sport, 49152);
    ports.insert(sport);
    ++buckets[(sport - 49152) / 1024];
  }
  EXPECT_GT(ports.size(), 1800u);  // ~1880 expected with birthday collisions
  for (int b : buckets) EXPECT_GT(b, 60) << "2000 flows over 16 buckets: ~125 each";
  // Flows differing only in the destination address spread too.
  std::set<std::uint16_t> by_dst;
  ASSERT_TRUE(h.tables().add_remote_mac(kVni, kOtherMac, kVtepB));
  for (std::uint32_t d = 0; d < 200; ++d) {
    const auto sent =
        h.from_endpoint(kLocalPort, inner_udp(kOtherMac, kLocalMac, kLocalIp, Ipv4Addr{0x0a020000 + d}, 1, 2, 10));
    ASSERT_EQ(sent.size(), 1u);
    by_dst.insert(be16(sent[0].bytes, 34));
  }
  EXPECT_GT(by_dst.size(), 180u);
}

TEST(PipelineConfigTest, WithoutDfEveryDatagramGetsItsOwnId) {
  PipelineConfig c = Harness::default_config();
  c.underlay.dont_fragment = false;
  Harness h(c);
  h.program_host_a();
  std::set<std::uint16_t> ids;
  for (int i = 0; i < 5; ++i) {
    const auto sent = h.from_endpoint(kLocalPort, to_remote(18 + static_cast<std::size_t>(i)));
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].bytes[20] & 0x40, 0) << "DF off";
    EXPECT_EQ(ip_checksum_fold(sent[0].bytes.data() + 14, 20), 0xffff);
    ids.insert(be16(sent[0].bytes, 18));
  }
  EXPECT_EQ(ids.size(), 5u);
}

TEST(PipelineConfigTest, SourcePortRangeIsHonoured) {
  PipelineConfig c = Harness::default_config();
  c.src_port_min = 1000;
  c.src_port_max = 1007;
  Harness h(c);
  h.program_host_a();
  std::set<std::uint16_t> ports;
  for (int flow = 0; flow < 400; ++flow) {
    const auto sent = h.from_endpoint(
        kLocalPort, inner_udp(kRemoteMac, kLocalMac, kLocalIp, kRemoteIp, static_cast<std::uint16_t>(flow), 80, 10));
    ASSERT_EQ(sent.size(), 1u);
    const std::uint16_t p = be16(sent[0].bytes, 34);
    ASSERT_GE(p, 1000);
    ASSERT_LE(p, 1007);
    ports.insert(p);
  }
  EXPECT_EQ(ports.size(), 8u);
}

TEST_F(PipelineTest, NonIpFramesAreEncapsulatedAsPlainL2) {
  // IPv6 inside the overlay is plain L2: only the source MAC is checked.
  Bytes v6(40 + 8, 0);
  v6[0] = 0x60;
  v6[6] = 17;
  const auto sent = h.from_endpoint(kLocalPort, ether(kRemoteMac, kLocalMac, 0x86dd, v6));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, kUplink);
}

// ---------------------------------------------------------------------------
// MTU

TEST_F(PipelineTest, MtuDropInsteadOfFragmenting) {
  // 1500-byte underlay: an inner frame of 1464 bytes (IP MTU 1450) fits, 1465 does not.
  const Bytes fits = to_remote(1464 - 42);
  ASSERT_EQ(fits.size(), 1464u);
  EXPECT_EQ(h.from_endpoint(kLocalPort, fits).size(), 1u);
  const Bytes too_big = to_remote(1465 - 42);
  EXPECT_TRUE(h.from_endpoint(kLocalPort, too_big).empty());
  EXPECT_EQ(h.stats()[Counter::mtu_exceeded], 1u);
}

TEST(PipelineConfigTest, JumboUnderlay) {
  PipelineConfig c = Harness::default_config();
  c.underlay_mtu = 9000;
  Harness h(c, 512);
  h.program_host_a();
  const Bytes fits = to_remote(8964 - 42);
  const auto sent = h.from_endpoint(kLocalPort, fits);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].bytes.size(), 9014u);
  EXPECT_EQ(be16(sent[0].bytes, 16), 9000);
  EXPECT_EQ(ip_checksum_fold(sent[0].bytes.data() + 14, 20), 0xffff);
  EXPECT_TRUE(h.from_endpoint(kLocalPort, to_remote(8965 - 42)).empty());
  EXPECT_EQ(h.stats()[Counter::mtu_exceeded], 1u);
  // And a jumbo VXLAN frame decapsulates.
  const Bytes big_inner = inner_udp(kLocalMac, kRemoteMac, kRemoteIp, kLocalIp, 1, 2, 8900);
  const auto got = h.from_uplink(vxlan(big_inner, kVni));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes, big_inner);
  EXPECT_EQ(h.mbufs_in_use(), 0u);
}

// Scattered RX: a NIC whose receive buffers are smaller than a jumbo frame
// hands over a chain; the pipeline makes it contiguous and the length fields
// it writes count the whole chain.
class JumboChainTest : public ::testing::Test {
 protected:
  static PipelineConfig jumbo() {
    PipelineConfig c = Harness::default_config();
    c.underlay_mtu = 9000;
    return c;
  }
  void SetUp() override { h.program_host_a(); }
  void TearDown() override { EXPECT_EQ(h.mbufs_in_use(), 0u) << "mbuf leak"; }
  Harness h{jumbo(), 512};
};

void expect_jumbo_encap(const Sent& sent, const Bytes& inner) {
  EXPECT_EQ(sent.port, kUplink);
  EXPECT_EQ(sent.segments, 1u) << "sent as a chain";
  const Bytes& o = sent.bytes;
  ASSERT_EQ(o.size(), inner.size() + 50);
  EXPECT_EQ(be16(o, 16), inner.size() + 36) << "IPv4 total length";
  EXPECT_EQ(ip_checksum_fold(o.data() + 14, 20), 0xffff) << "IPv4 checksum";
  EXPECT_EQ(be16(o, 38), inner.size() + 16) << "UDP length";
  EXPECT_EQ(Bytes(o.begin() + 50, o.end()), inner) << "inner frame";
}

TEST_F(JumboChainTest, ChainWithTailroomIsJoinedInPlaceAndEncapsulated) {
  const Bytes inner = to_remote(8964 - 42);  // IP MTU 8950: the largest that fits
  rte_mbuf* m = h.chain(inner, 2000, false);
  ASSERT_EQ(m->nb_segs, 5);
  h.pipeline().process_endpoint(h.ctx(), kLocalPort, &m, 1);
  ASSERT_EQ(h.sent.size(), 1u);
  expect_jumbo_encap(h.sent[0], inner);
  h.sent.clear();
  EXPECT_EQ(h.stats()[Counter::linearized], 1u);
  EXPECT_EQ(h.stats().total_drops(), 0u);
}

TEST_F(JumboChainTest, PackedChainIsCopiedIntoOneMbufAndEncapsulated) {
  const Bytes inner = to_remote(8964 - 42);
  rte_mbuf* m = h.chain(inner, 1024, true);
  ASSERT_EQ(rte_pktmbuf_tailroom(m), 0u);
  h.pipeline().process_endpoint(h.ctx(), kLocalPort, &m, 1);
  ASSERT_EQ(h.sent.size(), 1u);
  expect_jumbo_encap(h.sent[0], inner);
  h.sent.clear();
  EXPECT_EQ(h.stats()[Counter::linearized], 1u);
}

TEST_F(JumboChainTest, ChainedFrameOneByteTooBigIsAnMtuDrop) {
  rte_mbuf* m = h.chain(to_remote(8965 - 42), 3000, true);
  h.pipeline().process_endpoint(h.ctx(), kLocalPort, &m, 1);
  EXPECT_TRUE(h.sent.empty());
  EXPECT_EQ(h.stats()[Counter::mtu_exceeded], 1u);
}

TEST_F(JumboChainTest, ChainedVxlanIsDecapsulatedContiguous) {
  const Bytes inner = inner_udp(kLocalMac, kRemoteMac, kRemoteIp, kLocalIp, 1, 2, 8950 - 28);
  ASSERT_EQ(inner.size(), 8964u);
  const Bytes outer = vxlan(inner, kVni);
  ASSERT_EQ(outer.size(), 9014u);
  // Segments so small that the outer headers themselves straddle two.
  for (std::size_t segment : {40u, 1500u, 2048u}) {
    for (bool packed : {false, true}) {
      rte_mbuf* m = h.chain(outer, segment, packed);
      h.pipeline().process_uplink(h.ctx(), &m, 1);
      ASSERT_EQ(h.sent.size(), 1u) << segment << (packed ? " packed" : "");
      EXPECT_EQ(h.sent[0].port, kLocalPort);
      EXPECT_EQ(h.sent[0].segments, 1u);
      EXPECT_EQ(h.sent[0].bytes, inner);
      h.sent.clear();
    }
  }
  EXPECT_EQ(h.stats()[Counter::decap], 6u);
  EXPECT_EQ(h.stats()[Counter::linearized], 6u);
}

TEST_F(JumboChainTest, ChainsAndSingleSegmentsMixInOneBurstInOrder) {
  std::vector<Bytes> inners;
  std::vector<rte_mbuf*> burst;
  for (std::size_t i = 0; i < 8; ++i) {
    inners.push_back(to_remote(1000 + i * 1000, static_cast<std::uint16_t>(i)));
    burst.push_back(i % 2 == 0 ? h.mbuf(inners.back()) : h.chain(inners.back(), 1500, i % 4 == 1));
  }
  h.pipeline().process_endpoint(h.ctx(), kLocalPort, burst.data(), static_cast<std::uint16_t>(burst.size()));
  ASSERT_EQ(h.sent.size(), inners.size());
  for (std::size_t i = 0; i < inners.size(); ++i) expect_jumbo_encap(h.sent[i], inners[i]);
  h.sent.clear();
  EXPECT_EQ(h.stats()[Counter::linearized], 4u);
}

TEST_F(JumboChainTest, ChainLargerThanAPoolMbufIsDropped) {
  // The harness pool's mbufs hold 10 KiB: a 12 000-byte chain cannot be joined.
  rte_mbuf* m = h.chain(to_remote(12000 - 42), 3000, true);
  h.pipeline().process_endpoint(h.ctx(), kLocalPort, &m, 1);
  EXPECT_TRUE(h.sent.empty());
  EXPECT_EQ(h.stats()[Counter::chain_too_long], 1u);
  EXPECT_EQ(h.stats().port(kLocalPort, PortCounter::rx_packets), 1u);
}

// ---------------------------------------------------------------------------
// Decapsulation

TEST_F(PipelineTest, DecapAcceptsZeroAndNonZeroUdpChecksumWithoutVerifying) {
  Bytes f = vxlan(to_local(), kVni);
  EXPECT_EQ(h.from_uplink(f).size(), 1u);  // checksum 0
  put_be16(f, 40, 0x1234);                 // a wrong, non-zero checksum (as a partial one would be)
  EXPECT_EQ(h.from_uplink(f).size(), 1u);
  EXPECT_EQ(h.stats().total_drops(), 0u);
}

TEST_F(PipelineTest, DecapTrimsEthernetPadding) {
  const Bytes inner = to_local(0);
  Bytes f = vxlan(inner, kVni);
  f.resize(f.size() + 20, 0xee);  // trailing bytes beyond the IP total length
  const auto sent = h.from_uplink(f);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].bytes, inner);
}

TEST_F(PipelineTest, DecapAcceptsIpOptionsAndReservedVxlanBits) {
  // Outer IPv4 with 4 bytes of options (IHL 6).
  Bytes f = vxlan(to_local(), kVni);
  f.insert(f.begin() + 34, {0x01, 0x01, 0x01, 0x00});  // NOP NOP NOP EOL
  f[14] = 0x46;
  put_be16(f, 16, static_cast<std::uint16_t>(be16(f, 16) + 4));
  put_be16(f, 24, 0);
  put_be16(f, 24, static_cast<std::uint16_t>(~ip_checksum_fold(f.data() + 14, 24)));
  EXPECT_EQ(h.from_uplink(f).size(), 1u);
  // Reserved VXLAN bits are ignored on receipt (RFC 7348 §5).
  Bytes g = vxlan(to_local(), kVni, kVtepB, kVtepA, 50000, 4789, 0xff);
  g[43] = 0xff;
  g[49] = 0xff;
  EXPECT_EQ(h.from_uplink(g).size(), 1u);
  EXPECT_EQ(h.stats().total_drops(), 0u);
}

TEST_F(PipelineTest, DecapBroadcastGoesToEveryLocalPortOfTheVni) {
  const MacAddr mac2{{0x02, 0, 0, 0, 0, 2}}, mac3{{0x02, 0, 0, 0, 0, 3}}, mac4{{0x02, 0, 0, 0, 0, 4}};
  ASSERT_TRUE(h.tables().add_port(EndpointPort{2, kVni, mac2, {}}));
  ASSERT_TRUE(h.tables().add_port(EndpointPort{3, kVni, mac3, {}}));
  ASSERT_TRUE(h.tables().add_network(99, false));
  ASSERT_TRUE(h.tables().add_port(EndpointPort{4, 99, mac4, {}}));  // another VNI: must not get it
  const Bytes inner = ether(kBroadcast, kRemoteMac, 0x0806, arp(1, kRemoteMac, kRemoteIp, kZeroMac, kLocalIp));
  const auto sent = h.from_uplink(vxlan(inner, kVni));
  ASSERT_EQ(sent.size(), 3u);
  std::set<PortId> ports;
  for (const auto& s : sent) {
    ports.insert(s.port);
    EXPECT_EQ(s.bytes, inner);
  }
  EXPECT_EQ(ports, (std::set<PortId>{1, 2, 3}));
}

TEST_F(PipelineTest, SameMacInTwoNetworksStaysIsolated) {
  ASSERT_TRUE(h.tables().add_network(99, false));
  ASSERT_TRUE(h.tables().add_port(EndpointPort{2, 99, kLocalMac, {kLocalIp}}));  // same MAC and IP, VNI 99
  ASSERT_TRUE(h.tables().add_remote_mac(99, kRemoteMac, kVtepB));
  auto sent = h.from_uplink(vxlan(to_local(), 99));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, 2);
  sent = h.from_uplink(vxlan(to_local(), kVni));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, kLocalPort);
  sent = h.from_endpoint(2, to_remote());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ((sent[0].bytes[46] << 16) | (sent[0].bytes[47] << 8) | sent[0].bytes[48], 99);
}

// ---------------------------------------------------------------------------
// Local switching and replication

TEST_F(PipelineTest, LocalSwitchingLeavesTheFrameUntouched) {
  const MacAddr mac2{{0x02, 0, 0, 0, 0, 2}};
  const Ipv4Addr ip2{0x0a010003};
  ASSERT_TRUE(h.tables().add_port(EndpointPort{2, kVni, mac2, {ip2}}));
  const Bytes f = inner_udp(mac2, kLocalMac, kLocalIp, ip2, 5, 6, 100);
  const auto sent = h.from_endpoint(kLocalPort, f);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, 2);
  EXPECT_EQ(sent[0].bytes, f);
  EXPECT_EQ(h.stats()[Counter::local_switched], 1u);
  EXPECT_EQ(h.stats().port(2, PortCounter::tx_packets), 1u);
  EXPECT_EQ(h.stats().port(kLocalPort, PortCounter::rx_packets), 1u);
  EXPECT_EQ(h.stats().port(kLocalPort, PortCounter::rx_bytes), f.size());
}

TEST_F(PipelineTest, BroadcastReplicatesToNPortsAndMVteps) {
  const Ipv4Addr vteps[] = {Ipv4Addr{0xac1f0703}, Ipv4Addr{0xac1f0704}, Ipv4Addr{0xac1f0705}};
  for (const auto& v : vteps) {
    ASSERT_TRUE(h.tables().add_flood_vtep(kVni, v));
    ASSERT_TRUE(h.tables().set_vtep_next_hop(v, kRemoteHostMac));
  }
  for (PortId p = 2; p <= 4; ++p) {
    ASSERT_TRUE(
        h.tables().add_port(EndpointPort{p, kVni, MacAddr{{0x02, 0, 0, 0, 0, static_cast<std::uint8_t>(p)}}, {}}));
  }
  // An ARP request for an unknown IP is flooded: 3 other ports + 4 VTEPs (B and the three above).
  const Bytes f = ether(kBroadcast, kLocalMac, 0x0806, arp(1, kLocalMac, kLocalIp, kZeroMac, Ipv4Addr{0x0a0100fe}));
  const auto sent = h.from_endpoint(kLocalPort, f);
  ASSERT_EQ(sent.size(), 7u);
  std::set<PortId> local;
  std::set<std::uint32_t> remote;
  for (const auto& s : sent) {
    if (s.port == kUplink) {
      EXPECT_EQ(Bytes(s.bytes.begin() + 50, s.bytes.end()), f);
      EXPECT_EQ(ip_checksum_fold(s.bytes.data() + 14, 20), 0xffff);
      remote.insert(static_cast<std::uint32_t>(s.bytes[30] << 24 | s.bytes[31] << 16 | s.bytes[32] << 8 | s.bytes[33]));
    } else {
      EXPECT_EQ(s.bytes, f);
      local.insert(s.port);
    }
  }
  EXPECT_EQ(local, (std::set<PortId>{2, 3, 4}));
  EXPECT_EQ(remote, (std::set<std::uint32_t>{kVtepB.value, 0xac1f0703, 0xac1f0704, 0xac1f0705}));
  const Stats s = h.stats();
  EXPECT_EQ(s[Counter::flooded], 1u);
  EXPECT_EQ(s[Counter::flood_copies], 6u);
  // Unresolved flood VTEPs are skipped and counted; the others still get it.
  ASSERT_TRUE(h.tables().clear_vtep_next_hop(vteps[0]));
  EXPECT_EQ(h.from_endpoint(kLocalPort, f).size(), 6u);
  EXPECT_EQ(h.stats()[Counter::vtep_unresolved], 1u);
}

TEST_F(PipelineTest, UnknownUnicastFloodsOnlyWhenTheNetworkDoes) {
  const Bytes f = inner_udp(kOtherMac, kLocalMac, kLocalIp, kRemoteIp, 1, 2, 10);
  EXPECT_TRUE(h.from_endpoint(kLocalPort, f).empty());
  EXPECT_EQ(h.stats()[Counter::unknown_unicast], 1u);
  ASSERT_TRUE(h.tables().add_network(kVni, true));  // flood on
  const auto sent = h.from_endpoint(kLocalPort, f);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, kUplink);
}

TEST_F(PipelineTest, TxQueueFullIsCountedAndFreed) {
  h.tx_accept = 0;
  h.from_endpoint(kLocalPort, std::vector<Bytes>(40, to_remote()));  // more than one TX burst
  const Stats s = h.stats();
  EXPECT_EQ(s[Counter::tx_full], 40u);
  EXPECT_EQ(s.port(kUplink, PortCounter::tx_dropped), 40u);
  EXPECT_EQ(s[Counter::tx], 0u);
}

TEST_F(PipelineTest, BurstLargerThan32IsSplit) {
  const auto sent = h.from_endpoint(kLocalPort, std::vector<Bytes>(100, to_remote()));
  EXPECT_EQ(sent.size(), 100u);
}

// ---------------------------------------------------------------------------
// ARP

TEST_F(PipelineTest, ArpProxyAnswersForNeighbourTableIps) {
  const Bytes req = ether(kBroadcast, kLocalMac, 0x0806, arp(1, kLocalMac, kLocalIp, kZeroMac, kRemoteIp));
  const auto sent = h.from_endpoint(kLocalPort, req);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, kLocalPort);
  const Bytes expected = ether(kLocalMac, kRemoteMac, 0x0806, arp(2, kRemoteMac, kRemoteIp, kLocalMac, kLocalIp));
  EXPECT_EQ(sent[0].bytes, expected);
  EXPECT_EQ(h.stats()[Counter::arp_proxied], 1u);
}

// A request unicast to the MAC an address had before it moved (a stale
// cache entry) is answered with the known MAC and counted as stale; one to
// the right MAC is answered and not counted.
TEST_F(PipelineTest, ArpProxyAnswersUnicastRequestsToAStaleMac) {
  const Bytes stale = ether(kOtherMac, kLocalMac, 0x0806, arp(1, kLocalMac, kLocalIp, kOtherMac, kRemoteIp));
  auto sent = h.from_endpoint(kLocalPort, stale);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, kLocalPort);
  EXPECT_EQ(sent[0].bytes, ether(kLocalMac, kRemoteMac, 0x0806, arp(2, kRemoteMac, kRemoteIp, kLocalMac, kLocalIp)));
  EXPECT_EQ(h.stats()[Counter::arp_proxied_stale], 1u);
  const Bytes fresh = ether(kRemoteMac, kLocalMac, 0x0806, arp(1, kLocalMac, kLocalIp, kRemoteMac, kRemoteIp));
  sent = h.from_endpoint(kLocalPort, fresh);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(h.stats()[Counter::arp_proxied], 2u);
  EXPECT_EQ(h.stats()[Counter::arp_proxied_stale], 1u);
}

TEST_F(PipelineTest, ArpProxyAnswersForLocalEndpointIpsAndKeepsPadding) {
  const MacAddr mac2{{0x02, 0, 0, 0, 0, 2}};
  const Ipv4Addr ip2{0x0a010003};
  ASSERT_TRUE(h.tables().add_port(EndpointPort{2, kVni, mac2, {ip2}}));
  Bytes req = ether(kBroadcast, kLocalMac, 0x0806, arp(1, kLocalMac, kLocalIp, kZeroMac, ip2));
  req.resize(60, 0);  // minimum-size Ethernet padding
  const auto sent = h.from_endpoint(kLocalPort, req);
  ASSERT_EQ(sent.size(), 1u);
  Bytes expected = ether(kLocalMac, mac2, 0x0806, arp(2, mac2, ip2, kLocalMac, kLocalIp));
  expected.resize(60, 0);
  EXPECT_EQ(sent[0].bytes, expected);
  // After the port is removed the IP is no longer answered (the request floods to B).
  ASSERT_TRUE(h.tables().del_port(2));
  const auto flooded = h.from_endpoint(kLocalPort, req);
  ASSERT_EQ(flooded.size(), 1u);
  EXPECT_EQ(flooded[0].port, kUplink);
}

TEST_F(PipelineTest, GratuitousArpAndProbesAreFloodedNotAnswered) {
  const Bytes garp = ether(kBroadcast, kLocalMac, 0x0806, arp(1, kLocalMac, kLocalIp, kZeroMac, kLocalIp));
  auto sent = h.from_endpoint(kLocalPort, garp);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, kUplink);
  // RFC 5227 probe: sender IP 0.0.0.0 is not spoofing; asks for a known IP -> answered.
  const Bytes probe = ether(kBroadcast, kLocalMac, 0x0806, arp(1, kLocalMac, Ipv4Addr{0}, kZeroMac, kRemoteIp));
  sent = h.from_endpoint(kLocalPort, probe);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, kLocalPort);
  // A probe for its own address is not answered with its own MAC (that would
  // look like a conflict): it floods like any unanswered request.
  const Bytes own = ether(kBroadcast, kLocalMac, 0x0806, arp(1, kLocalMac, Ipv4Addr{0}, kZeroMac, kLocalIp));
  sent = h.from_endpoint(kLocalPort, own);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, kUplink);
  EXPECT_EQ(h.stats()[Counter::arp_proxied], 1u);
  EXPECT_EQ(h.stats().total_drops(), 0u);
}

TEST_F(PipelineTest, ArpForOurVtepIpGoesToTheSlowPathAndInjectedFramesLeave) {
  const Bytes req = ether(kBroadcast, kRemoteHostMac, 0x0806, arp(1, kRemoteHostMac, kVtepB, kZeroMac, kVtepA));
  EXPECT_TRUE(h.from_uplink(req).empty());
  EXPECT_EQ(h.stats()[Counter::slow_path], 1u);
  rte_mbuf* got[4];
  ASSERT_EQ(rte_ring_dequeue_burst(h.pipeline().slow_path_rx(), reinterpret_cast<void**>(got), 4, nullptr), 1u);
  ASSERT_EQ(rte_pktmbuf_pkt_len(got[0]), req.size());
  EXPECT_EQ(0, std::memcmp(rte_pktmbuf_mtod(got[0], void*), req.data(), req.size()));
  rte_pktmbuf_free(got[0]);
  // The control thread's reply goes out of the uplink through drain_injected.
  const Bytes reply = ether(kRemoteHostMac, kUplinkMac, 0x0806, arp(2, kUplinkMac, kVtepA, kRemoteHostMac, kVtepB));
  ASSERT_TRUE(h.pipeline().inject(h.mbuf(reply), kUplink));
  h.pipeline().drain_injected(h.ctx());
  ASSERT_EQ(h.sent.size(), 1u);
  EXPECT_EQ(h.sent[0].port, kUplink);
  EXPECT_EQ(h.sent[0].bytes, reply);
  h.sent.clear();
  EXPECT_EQ(h.stats()[Counter::injected], 1u);
  // A frame for an endpoint port (a neighbour announcement) leaves there; one
  // for a port removed meanwhile is dropped and counted.
  const Bytes garp = ether(kBroadcast, kRemoteMac, 0x0806, arp(1, kRemoteMac, kRemoteIp, kZeroMac, kRemoteIp));
  ASSERT_TRUE(h.pipeline().inject(h.mbuf(garp), kLocalPort));
  ASSERT_TRUE(h.pipeline().inject(h.mbuf(garp), PortId{9}));
  h.pipeline().drain_injected(h.ctx());
  ASSERT_EQ(h.sent.size(), 1u);
  EXPECT_EQ(h.sent[0].port, kLocalPort);
  EXPECT_EQ(h.sent[0].bytes, garp);
  h.sent.clear();
  EXPECT_EQ(h.stats()[Counter::inject_no_port], 1u);
}

// ---------------------------------------------------------------------------
// Anti-spoofing

TEST_F(PipelineTest, AntiSpoofing) {
  // Wrong source MAC (any ethertype).
  EXPECT_TRUE(h.from_endpoint(kLocalPort, inner_udp(kRemoteMac, kOtherMac, kLocalIp, kRemoteIp, 1, 2, 10)).empty());
  EXPECT_TRUE(h.from_endpoint(kLocalPort, ether(kRemoteMac, kOtherMac, 0x86dd, Bytes(60, 0))).empty());
  // Right MAC, wrong source IPv4.
  EXPECT_TRUE(
      h.from_endpoint(kLocalPort, inner_udp(kRemoteMac, kLocalMac, Ipv4Addr{0x0a0100ee}, kRemoteIp, 1, 2, 10)).empty());
  // ARP with a foreign sender MAC, or a foreign sender IP.
  EXPECT_TRUE(h.from_endpoint(kLocalPort,
                              ether(kBroadcast, kLocalMac, 0x0806, arp(1, kOtherMac, kLocalIp, kZeroMac, kRemoteIp)))
                  .empty());
  EXPECT_TRUE(h.from_endpoint(kLocalPort, ether(kBroadcast, kLocalMac, 0x0806,
                                                arp(2, kLocalMac, Ipv4Addr{0x0a0100ee}, kRemoteMac, kRemoteIp)))
                  .empty());
  const Stats s = h.stats();
  EXPECT_EQ(s[Counter::spoofed_src_mac], 3u);
  EXPECT_EQ(s[Counter::spoofed_src_ip], 2u);
  EXPECT_EQ(s[Counter::encap], 0u);
  // A port with several IPs may use any of them.
  ASSERT_TRUE(h.tables().add_port(
      EndpointPort{2, kVni, MacAddr{{0x02, 0, 0, 0, 0, 2}}, {Ipv4Addr{0x0a010005}, Ipv4Addr{0x0a010006}}}));
  EXPECT_EQ(h.from_endpoint(
                 2, inner_udp(kRemoteMac, MacAddr{{0x02, 0, 0, 0, 0, 2}}, Ipv4Addr{0x0a010006}, kRemoteIp, 1, 2, 10))
                .size(),
            1u);
}

// ---------------------------------------------------------------------------
// IPv6: anti-spoofing, ND validation, ND proxy

const Ipv6Addr kLinkLocal = ipv6_addr("fe80::ff:fe0a:101");
const MacAddr kAllNodesMac{{0x33, 0x33, 0, 0, 0, 1}};

// A UDP-in-IPv6 frame from the local container to the remote one.
Bytes v6_to_remote(const Ipv6Addr& src, std::size_t payload = 10) {
  return ether(kRemoteMac, kLocalMac, 0x86dd, ipv6(src, kRemoteIp6, 17, udp(1000, 80, Bytes(payload, 7))));
}

// The Neighbor Advertisement the proxy must send for `target` at `mac` to an
// asker (`to` = its IPv6 source, `to_mac` its MAC), built independently.
Bytes expected_na(const MacAddr& to_mac, const Ipv6Addr& to, const Ipv6Addr& target, const MacAddr& mac,
                  std::uint8_t flags) {
  return ether(to_mac, mac, 0x86dd, icmpv6(target, to, 136, 0, nd_body(flags, target, nd_ll_option(2, mac))));
}

TEST_F(PipelineTest, Ipv6AntiSpoofing) {
  // Own address, link-local and :: are accepted (and encapsulated to B).
  for (const Ipv6Addr& src : {kLocalIp6, kLinkLocal, Ipv6Addr{}}) {
    const auto sent = h.from_endpoint(kLocalPort, v6_to_remote(src));
    ASSERT_EQ(sent.size(), 1u) << src.to_string();
    EXPECT_EQ(sent[0].port, kUplink);
  }
  // Anything else is dropped: another address in the prefix, a global one,
  // another port's address, loopback, multicast.
  const MacAddr mac2{{0x02, 0, 0, 0, 0, 2}};
  ASSERT_TRUE(h.tables().add_port(EndpointPort{2, kVni, mac2, {}, {ipv6_addr("fd00:4242::3")}}));
  for (const char* src : {"fd00:4242::99", "2001:db8::1", "fd00:4242::3", "::1", "ff02::1", "fec0::1"}) {
    EXPECT_TRUE(h.from_endpoint(kLocalPort, v6_to_remote(ipv6_addr(src))).empty()) << src;
  }
  Stats s = h.stats();
  EXPECT_EQ(s[Counter::spoofed_src_ip6], 6u);
  EXPECT_EQ(s[Counter::encap], 3u);
  // Port 2 may use its own address; a port without IPv6 addresses only :: and link-local.
  EXPECT_EQ(h.from_endpoint(2, ether(kRemoteMac, mac2, 0x86dd,
                                     ipv6(ipv6_addr("fd00:4242::3"), kRemoteIp6, 17, udp(1, 2, Bytes(4, 0)))))
                .size(),
            1u);
  ASSERT_TRUE(h.tables().add_port(EndpointPort{3, kVni, MacAddr{{0x02, 0, 0, 0, 0, 3}}, {kRemoteIp}}));
  const auto from3 = [&](const Ipv6Addr& src) {
    return h.from_endpoint(3, ether(kRemoteMac, MacAddr{{0x02, 0, 0, 0, 0, 3}}, 0x86dd,
                                    ipv6(src, kRemoteIp6, 17, udp(1, 2, Bytes(4, 0)))));
  };
  EXPECT_EQ(from3(kLinkLocal).size(), 1u);
  EXPECT_EQ(from3(Ipv6Addr{}).size(), 1u);
  EXPECT_TRUE(from3(kLocalIp6).empty());
  // Truncated fixed header.
  EXPECT_TRUE(h.from_endpoint(kLocalPort, ether(kRemoteMac, kLocalMac, 0x86dd, Bytes(39, 0))).empty());
  s = h.stats();
  EXPECT_EQ(s[Counter::spoofed_src_ip6], 7u);
  EXPECT_EQ(s[Counter::truncated], 1u);
  // Behind an extension header (hop-by-hop) the source is still checked, and
  // ND there is forwarded without being parsed or answered.
  Bytes hbh = {58, 0, 1, 4, 0, 0, 0, 0};  // next ICMPv6, 8 bytes, PadN
  const Bytes ns = icmpv6(kLocalIp6, solicited_node(kRemoteIp6), 135, 0, nd_body(0, kRemoteIp6));
  hbh.insert(hbh.end(), ns.begin() + 40, ns.end());
  const auto with_ext = [&](const Ipv6Addr& src) {
    return ether(ipv6_multicast_mac(solicited_node(kRemoteIp6)), kLocalMac, 0x86dd,
                 ipv6(src, solicited_node(kRemoteIp6), 0, hbh, 255));
  };
  EXPECT_TRUE(h.from_endpoint(kLocalPort, with_ext(ipv6_addr("fd00:4242::99"))).empty());
  const auto flooded = h.from_endpoint(kLocalPort, with_ext(kLocalIp6));
  ASSERT_EQ(flooded.size(), 3u) << "ports 2, 3 and VTEP B";
  for (const auto& f : flooded) EXPECT_NE(f.port, kLocalPort) << "not answered";
  s = h.stats();
  EXPECT_EQ(s[Counter::spoofed_src_ip6], 8u);
  EXPECT_EQ(s[Counter::nd_proxied], 0u);
}

// Linux re-checks a STALE entry with a Neighbor Solicitation unicast to the
// MAC it has cached: after a move that MAC is gone, and the proxy answers
// with the known one (counted as stale).
TEST_F(PipelineTest, NdProxyAnswersUnicastSolicitationsToAStaleMac) {
  const Bytes ns = ether(kOtherMac, kLocalMac, 0x86dd,
                         icmpv6(kLocalIp6, kRemoteIp6, 135, 0, nd_body(0, kRemoteIp6, nd_ll_option(1, kLocalMac))));
  const auto sent = h.from_endpoint(kLocalPort, ns);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, kLocalPort);
  ASSERT_GE(sent[0].bytes.size(), 86u);
  EXPECT_EQ(Bytes(sent[0].bytes.begin() + 80, sent[0].bytes.begin() + 86), mac_bytes(kRemoteMac));
  EXPECT_EQ(h.stats()[Counter::nd_proxied], 1u);
  EXPECT_EQ(h.stats()[Counter::nd_proxied_stale], 1u);
}

TEST_F(PipelineTest, NdProxyAnswersWithAByteExactNeighborAdvertisement) {
  const Bytes ns = neighbor_solicitation(kLocalMac, kLocalIp6, kRemoteIp6);
  const auto sent = h.from_endpoint(kLocalPort, ns);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, kLocalPort);
  const Bytes want = expected_na(kLocalMac, kLocalIp6, kRemoteIp6, kRemoteMac, 0x60);
  EXPECT_EQ(sent[0].bytes, want);
  // Field by field, for a reader of a failure.
  const Bytes& na = sent[0].bytes;
  ASSERT_EQ(na.size(), 14u + 40 + 32);
  EXPECT_EQ(Bytes(na.begin(), na.begin() + 6), mac_bytes(kLocalMac));
  EXPECT_EQ(Bytes(na.begin() + 6, na.begin() + 12), mac_bytes(kRemoteMac));
  EXPECT_EQ(be16(na, 18), 32) << "payload length";
  EXPECT_EQ(na[20], 58);
  EXPECT_EQ(na[21], 255) << "hop limit";
  EXPECT_EQ(Bytes(na.begin() + 22, na.begin() + 38), Bytes(kRemoteIp6.bytes.begin(), kRemoteIp6.bytes.end()));
  EXPECT_EQ(Bytes(na.begin() + 38, na.begin() + 54), Bytes(kLocalIp6.bytes.begin(), kLocalIp6.bytes.end()));
  EXPECT_EQ(na[54], 136);
  EXPECT_EQ(na[55], 0);
  EXPECT_EQ(na[58], 0x60) << "Solicited + Override, Router clear";
  EXPECT_EQ(icmpv6_checksum_fold(na.data() + 14, na.size() - 14), 0xffff) << "ICMPv6 checksum";
  EXPECT_EQ(na[78], 2) << "target link-layer address option";
  EXPECT_EQ(na[79], 1);
  EXPECT_EQ(Bytes(na.begin() + 80, na.end()), mac_bytes(kRemoteMac));
  EXPECT_EQ(h.stats()[Counter::nd_proxied], 1u);
  EXPECT_EQ(h.stats().total_drops(), 0u);

  // From a link-local source, with a nonce option (RFC 7527) and Ethernet
  // padding: the answer goes to the link-local address and is 86 bytes.
  Bytes opts = nd_ll_option(1, kLocalMac);
  const Bytes nonce = {14, 1, 1, 2, 3, 4, 5, 6};
  opts.insert(opts.end(), nonce.begin(), nonce.end());
  Bytes ns2 = ether(ipv6_multicast_mac(solicited_node(kRemoteIp6)), kLocalMac, 0x86dd,
                    icmpv6(kLinkLocal, solicited_node(kRemoteIp6), 135, 0, nd_body(0, kRemoteIp6, opts)));
  ns2.resize(ns2.size() + 6, 0);
  const auto sent2 = h.from_endpoint(kLocalPort, ns2);
  ASSERT_EQ(sent2.size(), 1u);
  EXPECT_EQ(sent2[0].bytes, expected_na(kLocalMac, kLinkLocal, kRemoteIp6, kRemoteMac, 0x60));
  // A unicast NS (neighbour unreachability detection) is answered too.
  Bytes nud = ether(kRemoteMac, kLocalMac, 0x86dd,
                    icmpv6(kLocalIp6, kRemoteIp6, 135, 0, nd_body(0, kRemoteIp6, nd_ll_option(1, kLocalMac))));
  const auto sent3 = h.from_endpoint(kLocalPort, nud);
  ASSERT_EQ(sent3.size(), 1u);
  EXPECT_EQ(sent3[0].bytes, want);
  EXPECT_EQ(h.stats()[Counter::nd_proxied], 3u);
}

TEST_F(PipelineTest, NdProxyAnswersDadProbesForTakenAddressesToAllNodes) {
  // DAD for an address another MAC has: answered to ff02::1, Solicited clear.
  const auto sent = h.from_endpoint(kLocalPort, neighbor_solicitation(kLocalMac, Ipv6Addr{}, kRemoteIp6));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, kLocalPort);
  EXPECT_EQ(sent[0].bytes, expected_na(kAllNodesMac, ipv6_addr("ff02::1"), kRemoteIp6, kRemoteMac, 0x20));
  EXPECT_EQ(icmpv6_checksum_fold(sent[0].bytes.data() + 14, sent[0].bytes.size() - 14), 0xffff);
  // DAD for its own address is not answered (no fake conflict): flooded.
  const auto own = h.from_endpoint(kLocalPort, neighbor_solicitation(kLocalMac, Ipv6Addr{}, kLocalIp6));
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0].port, kUplink);
  // Nor is an NS for its own address from itself.
  const auto self = h.from_endpoint(kLocalPort, neighbor_solicitation(kLocalMac, kLinkLocal, kLocalIp6));
  ASSERT_EQ(self.size(), 1u);
  EXPECT_EQ(self[0].port, kUplink);
  EXPECT_EQ(h.stats()[Counter::nd_proxied], 1u);
  EXPECT_EQ(h.stats().total_drops(), 0u);
}

TEST_F(PipelineTest, NdForUnknownTargetsAndOtherIcmpv6MulticastIsFlooded) {
  const Ipv6Addr unknown = ipv6_addr("fd00:4242::77");
  auto sent = h.from_endpoint(kLocalPort, neighbor_solicitation(kLocalMac, kLocalIp6, unknown));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, kUplink);
  const Bytes original = neighbor_solicitation(kLocalMac, kLocalIp6, unknown);
  EXPECT_EQ(Bytes(sent[0].bytes.begin() + 50, sent[0].bytes.end()), original) << "flooded unchanged";
  // Router Solicitation (from link-local, with its source option), MLDv2 report from ::.
  const Ipv6Addr all_routers = ipv6_addr("ff02::2");
  sent = h.from_endpoint(
      kLocalPort, ether(ipv6_multicast_mac(all_routers), kLocalMac, 0x86dd, icmpv6(kLinkLocal, all_routers, 133, 0, [] {
                          Bytes b(4, 0);
                          const Bytes o = nd_ll_option(1, kLocalMac);
                          b.insert(b.end(), o.begin(), o.end());
                          return b;
                        }())));
  ASSERT_EQ(sent.size(), 1u);
  const Ipv6Addr mld_group = ipv6_addr("ff02::16");
  sent = h.from_endpoint(kLocalPort, ether(ipv6_multicast_mac(mld_group), kLocalMac, 0x86dd,
                                           icmpv6(Ipv6Addr{}, mld_group, 143, 0, Bytes(4, 0), 1)));
  ASSERT_EQ(sent.size(), 1u);
  // An NA for itself (unsolicited, to all nodes) floods as well.
  const Ipv6Addr all_nodes = ipv6_addr("ff02::1");
  sent = h.from_endpoint(
      kLocalPort, ether(kAllNodesMac, kLocalMac, 0x86dd,
                        icmpv6(kLocalIp6, all_nodes, 136, 0, nd_body(0x20, kLocalIp6, nd_ll_option(2, kLocalMac)))));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(h.stats()[Counter::nd_proxied], 0u);
  EXPECT_EQ(h.stats().total_drops(), 0u);
}

TEST_F(PipelineTest, NdProxyAnswersForLocalEndpointsUntilTheyLeave) {
  const MacAddr mac2{{0x02, 0, 0, 0, 0, 2}};
  const Ipv6Addr ip2 = ipv6_addr("fd00:4242::3");
  ASSERT_TRUE(h.tables().add_port(EndpointPort{2, kVni, mac2, {}, {ip2}}));
  const Bytes ns = neighbor_solicitation(kLocalMac, kLocalIp6, ip2);
  auto sent = h.from_endpoint(kLocalPort, ns);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].bytes, expected_na(kLocalMac, kLocalIp6, ip2, mac2, 0x60));
  ASSERT_TRUE(h.tables().del_port(2));
  sent = h.from_endpoint(kLocalPort, ns);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, kUplink) << "after the port left, its address is not answered: flooded";
  // A neighbour entry replaced and removed.
  ASSERT_TRUE(h.tables().add_neighbour(kVni, kRemoteIp6, kOtherMac));
  sent = h.from_endpoint(kLocalPort, neighbor_solicitation(kLocalMac, kLocalIp6, kRemoteIp6));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].bytes, expected_na(kLocalMac, kLocalIp6, kRemoteIp6, kOtherMac, 0x60));
  ASSERT_TRUE(h.tables().del_neighbour(kVni, kRemoteIp6));
  sent = h.from_endpoint(kLocalPort, neighbor_solicitation(kLocalMac, kLocalIp6, kRemoteIp6));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, kUplink);
}

TEST_F(PipelineTest, MalformedNeighborDiscoveryIsDroppedWithItsReason) {
  const Ipv6Addr group = solicited_node(kRemoteIp6);
  const MacAddr group_mac = ipv6_multicast_mac(group);
  const Bytes slla = nd_ll_option(1, kLocalMac);
  // An NS frame with an edit applied to its IPv6 packet (checksum fixed after
  // the edit unless `keep_checksum`).
  auto ns_edit = [&](const std::function<void(Bytes&)>& edit, bool fix = true) {
    Bytes ip = icmpv6(kLocalIp6, group, 135, 0, nd_body(0, kRemoteIp6, slla));
    edit(ip);
    if (fix) fix_icmpv6_checksum(ip.data(), ip.size());
    return ether(group_mac, kLocalMac, 0x86dd, ip);
  };
  struct Case {
    const char* what;
    Counter reason;
    Bytes frame;
  };
  const std::vector<Case> cases = {
      {"hop limit 64", Counter::bad_nd, ns_edit([](Bytes& ip) { ip[7] = 64; })},
      {"code 1", Counter::bad_nd, ns_edit([](Bytes& ip) { ip[41] = 1; })},
      {"ICMPv6 length 20", Counter::bad_nd, ns_edit([](Bytes& ip) {
         ip.resize(60);
         put_be16(ip, 4, 20);
       })},
      {"bad checksum", Counter::bad_nd_checksum, ns_edit([](Bytes& ip) { ip[43] ^= 0x5a; }, false)},
      {"option length 0", Counter::bad_nd, ns_edit([](Bytes& ip) { ip[65] = 0; })},
      {"option past the end", Counter::bad_nd, ns_edit([](Bytes& ip) { ip[65] = 2; })},
      {"half an option header", Counter::bad_nd, ns_edit([](Bytes& ip) {
         ip.push_back(1);
         put_be16(ip, 4, static_cast<std::uint16_t>(ip.size() - 40));
       })},
      {"payload length beyond the frame", Counter::truncated, ns_edit([](Bytes& ip) { put_be16(ip, 4, 200); })},
      {"multicast target", Counter::bad_nd, ns_edit([](Bytes& ip) { ip[48] = 0xff; })},
      {"DAD probe with a source option", Counter::bad_nd,
       ns_edit([](Bytes& ip) { std::fill(ip.begin() + 8, ip.begin() + 24, 0); })},
      {"DAD probe not to a solicited-node group", Counter::bad_nd,
       [&] {
         Bytes ip = icmpv6(Ipv6Addr{}, ipv6_addr("ff02::1"), 135, 0, nd_body(0, kRemoteIp6));
         return ether(kAllNodesMac, kLocalMac, 0x86dd, ip);
       }()},
      {"DAD probe to another address's solicited-node group", Counter::bad_nd,
       [&] {
         const Ipv6Addr other = solicited_node(kLocalIp6);
         Bytes ip = icmpv6(Ipv6Addr{}, other, 135, 0, nd_body(0, kRemoteIp6));
         return ether(ipv6_multicast_mac(other), kLocalMac, 0x86dd, ip);
       }()},
      {"source option with a foreign MAC", Counter::spoofed_src_mac, ns_edit([](Bytes& ip) { ip[71] ^= 1; })},
      {"NA for a foreign target", Counter::spoofed_src_ip6,
       ether(kAllNodesMac, kLocalMac, 0x86dd,
             icmpv6(kLocalIp6, ipv6_addr("ff02::1"), 136, 0, nd_body(0x20, kRemoteIp6, nd_ll_option(2, kLocalMac))))},
      {"NA with a foreign target link-layer address", Counter::spoofed_src_mac,
       ether(kAllNodesMac, kLocalMac, 0x86dd,
             icmpv6(kLocalIp6, ipv6_addr("ff02::1"), 136, 0, nd_body(0x20, kLocalIp6, nd_ll_option(2, kRemoteMac))))},
      {"solicited NA to a group", Counter::bad_nd,
       ether(kAllNodesMac, kLocalMac, 0x86dd,
             icmpv6(kLocalIp6, ipv6_addr("ff02::1"), 136, 0, nd_body(0x60, kLocalIp6, nd_ll_option(2, kLocalMac))))},
      {"RS with hop limit 1", Counter::bad_nd,
       ether(kAllNodesMac, kLocalMac, 0x86dd, icmpv6(kLinkLocal, ipv6_addr("ff02::2"), 133, 0, Bytes(4, 0), 1))},
      {"redirect cut short", Counter::bad_nd,
       ether(kRemoteMac, kLocalMac, 0x86dd, icmpv6(kLinkLocal, kRemoteIp6, 137, 0, Bytes(20, 0)))},
      {"router advertisement (RA guard)", Counter::ra_guard,
       ether(kAllNodesMac, kLocalMac, 0x86dd, icmpv6(kLinkLocal, ipv6_addr("ff02::1"), 134, 0, Bytes(12, 0)))},
      {"redirect (RA guard)", Counter::ra_guard,
       ether(kRemoteMac, kLocalMac, 0x86dd, icmpv6(kLinkLocal, kRemoteIp6, 137, 0, Bytes(36, 0)))},
  };
  std::uint64_t drops = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const Stats before = h.stats();
    EXPECT_TRUE(h.from_endpoint(kLocalPort, c.frame).empty());
    const Stats after = h.stats();
    EXPECT_EQ(after[c.reason] - before[c.reason], 1u) << counter_name(c.reason);
    EXPECT_EQ(after.total_drops() - before.total_drops(), 1u);
    ++drops;
  }
  EXPECT_EQ(h.stats()[Counter::nd_proxied], 0u);
  EXPECT_EQ(h.stats().total_drops(), drops);
  // And the unedited NS is fine (the edits above are what broke them).
  EXPECT_EQ(h.from_endpoint(kLocalPort, ns_edit([](Bytes&) {})).size(), 1u);
}

// RA guard behind extension headers: what follows the chain decides; MLD
// (hop-by-hop, then ICMPv6) and other traffic behind extension headers go on.
TEST_F(PipelineTest, RaGuardSeesThroughExtensionHeaders) {
  const Ipv6Addr all_nodes = ipv6_addr("ff02::1");
  // An extension header: next header, length in 8-byte units beyond the
  // first 8, then padding (a PadN option).
  auto ext = [](std::uint8_t next, std::uint8_t units) {
    Bytes h(8u * (units + 1u), 0);
    h[0] = next;
    h[1] = units;
    h[2] = 1;  // PadN
    h[3] = static_cast<std::uint8_t>(h.size() - 4);
    return h;
  };
  auto fragment = [](std::uint8_t next, std::uint16_t offset) {
    Bytes h(8, 0);
    h[0] = next;
    h[2] = static_cast<std::uint8_t>(offset >> 8);
    h[3] = static_cast<std::uint8_t>(offset & 0xf8);
    return h;
  };
  auto icmp = [](std::uint8_t type) {
    Bytes m(16, 0);
    m[0] = type;
    return m;
  };
  auto chain = [&](std::uint8_t first, const std::vector<Bytes>& parts, const Ipv6Addr& dst) {
    Bytes payload;
    for (const Bytes& p : parts) payload.insert(payload.end(), p.begin(), p.end());
    return ether(kAllNodesMac, kLocalMac, 0x86dd, ipv6(kLinkLocal, dst, first, payload, 255));
  };
  struct Case {
    const char* what;
    Bytes frame;
    bool dropped;
  };
  const std::vector<Case> cases = {
      {"RA behind hop-by-hop", chain(0, {ext(58, 0), icmp(134)}, all_nodes), true},
      {"redirect behind destination options", chain(60, {ext(58, 1), icmp(137)}, kRemoteIp6), true},
      {"RA behind hop-by-hop and destination options", chain(0, {ext(60, 0), ext(58, 0), icmp(134)}, all_nodes), true},
      {"RA in a first fragment", chain(44, {fragment(58, 0), icmp(134)}, all_nodes), true},
      {"chain cut short", chain(0, {Bytes{58, 1, 0, 0}}, all_nodes), true},
      {"chain too long to tell",
       chain(0, {ext(0, 0), ext(0, 0), ext(0, 0), ext(0, 0), ext(58, 0), icmp(134)}, all_nodes), true},
      {"MLD report behind hop-by-hop", chain(0, {ext(58, 0), icmp(143)}, ipv6_addr("ff02::16")), false},
      {"UDP behind destination options", chain(60, {ext(17, 0), Bytes(16, 0)}, kRemoteIp6), false},
      {"a later fragment", chain(44, {fragment(58, 8), icmp(134)}, all_nodes), false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const Stats before = h.stats();
    const bool forwarded = !h.from_endpoint(kLocalPort, c.frame).empty();
    const Stats after = h.stats();
    EXPECT_EQ(forwarded, !c.dropped);
    EXPECT_EQ(after[Counter::ra_guard] - before[Counter::ra_guard], c.dropped ? 1u : 0u);
  }
}

TEST_F(PipelineTest, NdAnswerNeedsRoomOrTheSolicitationFloods) {
  // A DAD probe (78 bytes) in an mbuf whose data ends at the buffer's end:
  // no room for the 86-byte answer, so it is flooded unanswered, not cut.
  const Bytes ns = neighbor_solicitation(kLocalMac, Ipv6Addr{}, kRemoteIp6);
  rte_mbuf* m = rte_pktmbuf_alloc(h.pool());
  m->data_off = static_cast<std::uint16_t>(m->buf_len - ns.size());
  std::memcpy(rte_pktmbuf_append(m, static_cast<std::uint16_t>(ns.size())), ns.data(), ns.size());
  h.pipeline().process_endpoint(h.ctx(), kLocalPort, &m, 1);
  ASSERT_EQ(h.sent.size(), 1u);
  EXPECT_EQ(h.sent[0].port, kUplink);
  h.sent.clear();
  EXPECT_EQ(h.stats()[Counter::nd_proxied], 0u);
}

// ---------------------------------------------------------------------------
// Every drop reason

struct DropCase {
  const char* what;
  Counter reason;
  bool uplink;
  std::function<Bytes()> frame;
  std::function<void(Harness&)> setup = nullptr;
  PortId port = kLocalPort;
};

TEST(PipelineDrops, EveryDropReasonIsReachableAndCounted) {
  const Bytes good = vxlan(to_local(), kVni);
  auto outer = [&](auto&& edit) {
    return [good, edit]() {
      Bytes f = good;
      edit(f);
      return f;
    };
  };
  const std::vector<DropCase> cases = {
      {"uplink runt", Counter::truncated, true, [] { return Bytes(10, 0); }},
      {"endpoint runt", Counter::truncated, false, [] { return Bytes(13, 0); }},
      {"uplink IPv4 cut short", Counter::truncated, true, [&] { return Bytes(good.begin(), good.begin() + 30); }},
      {"uplink VXLAN cut short", Counter::truncated, true, [&] { return Bytes(good.begin(), good.begin() + 60); }},
      {"endpoint IPv4 header cut", Counter::truncated, false,
       [] { return ether(kRemoteMac, kLocalMac, 0x0800, Bytes(10, 0)); }},
      {"outer IPv6 version", Counter::bad_ip_header, true, outer([](Bytes& f) { f[14] = 0x65; })},
      {"outer IHL 4", Counter::bad_ip_header, true, outer([](Bytes& f) { f[14] = 0x44; })},
      {"outer total length < IHL", Counter::bad_ip_header, true, outer([](Bytes& f) {
         put_be16(f, 16, 10);
         f = fix_ip_checksum(f);
       })},
      {"outer checksum", Counter::bad_ip_checksum, true, outer([](Bytes& f) { f[24] ^= 0x55; })},
      {"fragment", Counter::ip_fragment, true, outer([](Bytes& f) {
         f[20] |= 0x20;
         f = fix_ip_checksum(f);
       })},
      {"other VTEP IP", Counter::not_for_us, true, outer([](Bytes& f) {
         f[33] = 9;
         f = fix_ip_checksum(f);
       })},
      {"other MAC", Counter::not_for_us, true, outer([](Bytes& f) { f[5] ^= 1; })},
      {"TCP", Counter::not_vxlan, true, outer([](Bytes& f) {
         f[23] = 6;
         f = fix_ip_checksum(f);
       })},
      {"other UDP port", Counter::not_vxlan, true, outer([](Bytes& f) { put_be16(f, 36, 4790); })},
      {"IPv6 underlay", Counter::not_vxlan, true, outer([](Bytes& f) { put_be16(f, 12, 0x86dd); })},
      {"no I flag", Counter::bad_vxlan_flags, true, outer([](Bytes& f) { f[42] = 0; })},
      {"CE outside, Not-ECT inside", Counter::ecn_ce_not_ect, true, outer([](Bytes& f) {
         f[15] = 3;
         f = fix_ip_checksum(f);
       })},
      {"unknown VNI", Counter::unknown_vni, true, [] { return vxlan(to_local(), 777); }},
      {"unknown source VTEP", Counter::unknown_src_vtep, true,
       [] { return vxlan(to_local(), kVni, Ipv4Addr{0xac1f0709}); }},
      {"unknown inner destination", Counter::unknown_inner_dst, true,
       [] { return vxlan(inner_udp(kOtherMac, kRemoteMac, kRemoteIp, kLocalIp, 1, 2, 10), kVni); }},
      {"inner destination is remote", Counter::unknown_inner_dst, true,
       [] { return vxlan(inner_udp(kRemoteMac, kRemoteMac, kRemoteIp, kLocalIp, 1, 2, 10), kVni); }},
      {"ARP for someone else", Counter::arp_not_for_us, true,
       [] {
         return ether(kBroadcast, kRemoteHostMac, 0x0806,
                      arp(1, kRemoteHostMac, kVtepB, kZeroMac, Ipv4Addr{0xac1f0705}));
       }},
      {"port without endpoint", Counter::unknown_port, false, [] { return to_remote(); }, nullptr, 7},
      {"port id beyond range", Counter::unknown_port, false, [] { return to_remote(); }, nullptr, 500},
      {"source MAC", Counter::spoofed_src_mac, false,
       [] { return inner_udp(kRemoteMac, kOtherMac, kLocalIp, kRemoteIp, 1, 2, 10); }},
      {"source IP", Counter::spoofed_src_ip, false,
       [] { return inner_udp(kRemoteMac, kLocalMac, Ipv4Addr{0x0a0100ee}, kRemoteIp, 1, 2, 10); }},
      {"source IPv6", Counter::spoofed_src_ip6, false,
       [] {
         return ether(kRemoteMac, kLocalMac, 0x86dd,
                      ipv6(ipv6_addr("fd00:4242::ee"), kRemoteIp6, 17, udp(1, 2, Bytes(10, 0))));
       }},
      {"NS with hop limit 64", Counter::bad_nd, false,
       [] {
         const Ipv6Addr g = solicited_node(kRemoteIp6);
         return ether(ipv6_multicast_mac(g), kLocalMac, 0x86dd,
                      icmpv6(kLocalIp6, g, 135, 0, nd_body(0, kRemoteIp6), 64));
       }},
      {"router advertisement", Counter::ra_guard, false,
       [] {
         return ether(kAllNodesMac, kLocalMac, 0x86dd, icmpv6(kLinkLocal, ipv6_addr("ff02::1"), 134, 0, Bytes(12, 0)));
       }},
      {"NS with a bad checksum", Counter::bad_nd_checksum, false,
       [] {
         Bytes f = neighbor_solicitation(kLocalMac, kLocalIp6, kRemoteIp6);
         f[14 + 42] ^= 1;
         return f;
       }},
      {"ARP hardware type", Counter::bad_arp, false,
       [] {
         Bytes a = arp(1, kLocalMac, kLocalIp, kZeroMac, kRemoteIp);
         a[1] = 6;
         return ether(kBroadcast, kLocalMac, 0x0806, a);
       }},
      {"VLAN-tagged IPv4 with a foreign source", Counter::vlan_tagged, false,
       [] {
         Bytes tagged = {0x00, 0x05, 0x08, 0x00};  // VID 5, then IPv4
         const Bytes ip = ipv4(Ipv4Addr{0x0a0100ee}, kRemoteIp, 17, udp(1, 2, Bytes(10, 0)));
         tagged.insert(tagged.end(), ip.begin(), ip.end());
         return ether(kRemoteMac, kLocalMac, 0x8100, tagged);
       }},
      {"ARP cut short", Counter::truncated, false, [] { return ether(kBroadcast, kLocalMac, 0x0806, Bytes(20, 0)); }},
      {"unknown unicast", Counter::unknown_unicast, false,
       [] { return inner_udp(kOtherMac, kLocalMac, kLocalIp, kRemoteIp, 1, 2, 10); }},
      {"hairpin", Counter::hairpin, false,
       [] { return inner_udp(kLocalMac, kLocalMac, kLocalIp, kRemoteIp, 1, 2, 10); }},
      {"nowhere to flood", Counter::flood_no_target, false,
       [] { return ether(kBroadcast, kLocalMac, 0x88b5, Bytes(50, 0)); },
       [](Harness& h) { ASSERT_TRUE(h.tables().del_flood_vtep(kVni, kVtepB)); }},
      {"unresolved VTEP", Counter::vtep_unresolved, false, [] { return to_remote(); },
       [](Harness& h) { ASSERT_TRUE(h.tables().clear_vtep_next_hop(kVtepB)); }},
      {"too big", Counter::mtu_exceeded, false, [] { return to_remote(1423); }},
      {"TX refused", Counter::tx_full, false, [] { return to_remote(); }, [](Harness& h) { h.tx_accept = 0; }},
  };
  std::set<Counter> seen;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    Harness h;
    h.program_host_a();
    if (c.setup) c.setup(h);
    const auto sent = c.uplink ? h.from_uplink(c.frame()) : h.from_endpoint(c.port, c.frame());
    EXPECT_TRUE(sent.empty());
    const Stats s = h.stats();
    EXPECT_EQ(s[c.reason], 1u) << counter_name(c.reason);
    EXPECT_EQ(s.total_drops(), 1u);
    EXPECT_EQ(h.mbufs_in_use(), 0u);
    seen.insert(c.reason);
  }

  // The ones that need special mbufs or pools.
  {
    Harness h;
    h.program_host_a();
    rte_mbuf* m = h.chain(to_remote(12000 - 42), 3000, true);
    h.pipeline().process_endpoint(h.ctx(), kLocalPort, &m, 1);
    EXPECT_EQ(h.stats()[Counter::chain_too_long], 1u);
    EXPECT_EQ(h.stats().total_drops(), 1u);
    EXPECT_EQ(h.mbufs_in_use(), 0u);
    seen.insert(Counter::chain_too_long);
  }
  {
    Harness h;
    h.program_host_a();
    rte_mbuf* m = rte_pktmbuf_alloc(h.pool());
    m->data_off = 20;  // less than the 50 bytes encapsulation prepends
    const Bytes f = to_remote();
    std::memcpy(rte_pktmbuf_append(m, static_cast<std::uint16_t>(f.size())), f.data(), f.size());
    h.pipeline().process_endpoint(h.ctx(), kLocalPort, &m, 1);
    EXPECT_EQ(h.stats()[Counter::no_headroom], 1u);
    EXPECT_EQ(h.mbufs_in_use(), 0u);
    seen.insert(Counter::no_headroom);
  }
  {
    Harness h(Harness::default_config(), 64);
    h.program_host_a();
    ASSERT_TRUE(h.tables().add_port(EndpointPort{2, kVni, MacAddr{{0x02, 0, 0, 0, 0, 2}}, {}}));
    rte_mbuf* frame = h.mbuf(ether(kBroadcast, kLocalMac, 0x88b5, Bytes(50, 0)));
    std::vector<rte_mbuf*> hog;
    while (rte_mbuf* m = rte_pktmbuf_alloc(h.pool())) hog.push_back(m);
    h.pipeline().process_endpoint(h.ctx(), kLocalPort, &frame, 1);
    for (rte_mbuf* m : hog) rte_pktmbuf_free(m);
    EXPECT_EQ(h.stats()[Counter::no_mbuf], 1u);  // one copy (port 2 or B) failed, the original still went
    EXPECT_EQ(h.sent.size(), 1u);
    h.sent.clear();
    EXPECT_EQ(h.mbufs_in_use(), 0u);
    seen.insert(Counter::no_mbuf);
  }
  {
    PipelineConfig cfg = Harness::default_config();
    cfg.slow_path_ring_size = 4;  // holds 3
    Harness h(cfg);
    h.program_host_a();
    const Bytes req = ether(kBroadcast, kRemoteHostMac, 0x0806, arp(1, kRemoteHostMac, kVtepB, kZeroMac, kVtepA));
    h.from_uplink(std::vector<Bytes>(5, req));
    EXPECT_EQ(h.stats()[Counter::slow_path], 3u);
    EXPECT_EQ(h.stats()[Counter::slow_path_full], 2u);
    rte_mbuf* got[8];
    const unsigned n = rte_ring_dequeue_burst(h.pipeline().slow_path_rx(), reinterpret_cast<void**>(got), 8, nullptr);
    EXPECT_EQ(n, 3u);
    for (unsigned i = 0; i < n; ++i) rte_pktmbuf_free(got[i]);
    EXPECT_EQ(h.mbufs_in_use(), 0u);
    seen.insert(Counter::slow_path_full);
  }
  {
    Harness h;
    h.program_host_a();
    ASSERT_TRUE(h.pipeline().inject(h.mbuf(ether(kBroadcast, kRemoteMac, 0x88b5, Bytes(50, 0))), PortId{9}));
    h.pipeline().drain_injected(h.ctx());
    EXPECT_EQ(h.stats()[Counter::inject_no_port], 1u);
    EXPECT_EQ(h.stats().total_drops(), 1u);
    EXPECT_EQ(h.mbufs_in_use(), 0u);
    seen.insert(Counter::inject_no_port);
  }

  for (const auto& info : kCounterInfo) {
    if (info.kind != CounterKind::Drop) continue;
    // Software segmentation's reasons (gso_*) need super-frames:
    // superframe_test.cc, EveryGsoDropReason.
    if (info.name.rfind("gso_", 0) == 0) continue;
    bool covered = false;
    for (Counter c : seen) covered |= counter_name(c) == info.name;
    EXPECT_TRUE(covered) << "drop reason '" << info.name << "' has no test";
  }
}

// ---------------------------------------------------------------------------
// Malformed frames of every length, both ingress paths

TEST_F(PipelineTest, MalformedFramesOfEveryLengthAreDroppedAndCounted) {
  std::mt19937 rng(7);
  const Bytes valid_outer = vxlan(to_local(100), kVni);
  const Bytes valid_inner = to_remote(100);
  const Bytes arp_req = ether(kBroadcast, kLocalMac, 0x0806, arp(1, kLocalMac, kLocalIp, kZeroMac, kRemoteIp));
  std::uint64_t fed_uplink = 0, fed_endpoint = 0;
  for (std::size_t len = 0; len <= 200; ++len) {
    std::vector<Bytes> up, ep;
    // Truncations of valid frames (the interesting boundaries) ...
    up.emplace_back(valid_outer.begin(),
                    valid_outer.begin() + static_cast<std::ptrdiff_t>(std::min(len, valid_outer.size())));
    ep.emplace_back(valid_inner.begin(),
                    valid_inner.begin() + static_cast<std::ptrdiff_t>(std::min(len, valid_inner.size())));
    ep.emplace_back(arp_req.begin(), arp_req.begin() + static_cast<std::ptrdiff_t>(std::min(len, arp_req.size())));
    // ... and random bytes behind valid-looking prefixes.
    for (int k = 0; k < 3; ++k) {
      Bytes r(len);
      for (auto& b : r) b = static_cast<std::uint8_t>(rng());
      Bytes r2 = r;
      for (std::size_t i = 0; i < std::min<std::size_t>(len, 14 + 20 + 8 + k * 8); ++i) r2[i] = valid_outer[i];
      Bytes r3 = r;
      for (std::size_t i = 0; i < std::min<std::size_t>(len, 14 + k * 10); ++i) r3[i] = valid_inner[i];
      up.push_back(r);
      up.push_back(r2);
      ep.push_back(r);
      ep.push_back(r3);
    }
    fed_uplink += up.size();
    fed_endpoint += ep.size();
    h.from_uplink(up);
    h.from_endpoint(kLocalPort, ep);
  }
  // Drain the slow path (random bytes may look like ARP for us).
  rte_mbuf* got[64];
  unsigned n;
  while ((n = rte_ring_dequeue_burst(h.pipeline().slow_path_rx(), reinterpret_cast<void**>(got), 64, nullptr)) > 0) {
    for (unsigned i = 0; i < n; ++i) rte_pktmbuf_free(got[i]);
  }
  const Stats s = h.stats();
  EXPECT_EQ(s[Counter::rx_uplink], fed_uplink);
  EXPECT_EQ(s[Counter::rx_endpoint], fed_endpoint);
  EXPECT_GT(s.total_drops(), (fed_uplink + fed_endpoint) / 2);
}

// Every frame is accounted for: sent, handed to the slow path or dropped.
TEST_F(PipelineTest, CountersAccountForEveryFrame) {
  std::vector<Bytes> ep = {to_remote(), to_remote(1500), inner_udp(kOtherMac, kLocalMac, kLocalIp, kRemoteIp, 1, 2, 3),
                           ether(kBroadcast, kLocalMac, 0x0806, arp(1, kLocalMac, kLocalIp, kZeroMac, kRemoteIp))};
  const auto sent = h.from_endpoint(kLocalPort, ep);
  const Stats s = h.stats();
  EXPECT_EQ(sent.size() + s.total_drops(), ep.size());
  EXPECT_EQ(s.network(0, NetCounter::from_endpoints), 4u);
  EXPECT_EQ(s.network(0, NetCounter::encap), 1u);
  EXPECT_EQ(s.network(0, NetCounter::dropped), 2u);
}

}  // namespace
}  // namespace ferry::dataplane::test
