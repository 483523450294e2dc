// Byte-exact encapsulation and decapsulation against frames the Linux kernel
// VXLAN driver produced (tests/data/kernel-vxlan-vni4242.pcap, see its README).
#include <gtest/gtest.h>

#include "tests/dataplane/core/harness.h"
#include "tests/dataplane/core/pcap.h"

namespace ferry::dataplane::test {
namespace {

constexpr std::size_t kOuter = 50;

std::vector<PcapFrame> golden() {
  auto frames = read_pcap(FERRY_TEST_DATA "/kernel-vxlan-vni4242.pcap");
  EXPECT_TRUE(frames) << (frames ? "" : frames.error().message);
  return frames ? *frames : std::vector<PcapFrame>{};
}

Ipv4Addr outer_src(const Bytes& f) {
  return Ipv4Addr{static_cast<std::uint32_t>(f[26] << 24 | f[27] << 16 | f[28] << 8 | f[29])};
}

TEST(Golden, PcapHasTheFifteenFrames) {
  const auto frames = golden();
  ASSERT_EQ(frames.size(), 15u);
  EXPECT_EQ(frames[9].bytes.size(), 1514u);  // the full-MTU echo
}

// Host A's data plane, given the inner frames host A's container sent, must
// produce the kernel's outer frames except for fields that legitimately differ:
//   IPv4 id (18-19): the kernel counts; we send 0 with DF set (RFC 6864 atomic datagram);
//   IPv4 flags (20): we set DF (never fragment), the kernel was not asked to (`df set`);
//   IPv4 checksum (24-25): follows from id and DF (verified separately);
//   UDP source port (34-35): both hash the inner flow, with different hash functions;
//   UDP checksum (40-41): we send 0 (RFC 7348 §5 allows it over IPv4), the kernel fills it.
TEST(Golden, EncapMatchesKernelExceptDocumentedFields) {
  Harness h;
  h.program_host_a();
  // Without the neighbour entry the ARP request is flooded (to B) as the kernel did.
  ASSERT_TRUE(h.tables().del_neighbour(kVni, kRemoteIp));
  int compared = 0;
  for (const auto& frame : golden()) {
    const Bytes& outer = frame.bytes;
    if (outer_src(outer) != kVtepA) continue;
    const Bytes inner(outer.begin() + kOuter, outer.end());
    if (!std::equal(kLocalMac.bytes.begin(), kLocalMac.bytes.end(), inner.begin() + 6)) continue;  // another host-A MAC
    const auto sent = h.from_endpoint(kLocalPort, inner);
    ASSERT_EQ(sent.size(), 1u) << "frame of " << outer.size() << " bytes";
    EXPECT_EQ(sent[0].port, kUplink);
    const Bytes& ours = sent[0].bytes;
    ASSERT_EQ(ours.size(), outer.size());
    for (std::size_t i = 0; i < ours.size(); ++i) {
      const bool may_differ = (i >= 18 && i <= 21) || i == 24 || i == 25 || i == 34 || i == 35 || i == 40 || i == 41;
      if (!may_differ) {
        EXPECT_EQ(ours[i], outer[i]) << "byte " << i << " of a " << outer.size() << "-byte frame";
      }
    }
    EXPECT_EQ(ours[20], 0x40) << "DF";
    EXPECT_EQ(ours[21], 0x00);
    EXPECT_EQ(ip_checksum_fold(ours.data() + 14, 20), 0xffff) << "outer IPv4 checksum";
    EXPECT_EQ(be16(ours, 40), 0) << "UDP checksum";
    EXPECT_GE(be16(ours, 34), 49152);
    ++compared;
  }
  EXPECT_EQ(compared, 6);  // ARP request, ARP reply, 3 echo requests, SYN
  EXPECT_EQ(h.mbufs_in_use(), 0u);
}

// Host A receiving host B's frames delivers exactly the original inner bytes.
TEST(Golden, DecapYieldsOriginalInnerFrame) {
  Harness h;
  h.program_host_a();
  int delivered = 0;
  for (const auto& frame : golden()) {
    const Bytes& outer = frame.bytes;
    if (outer_src(outer) != kVtepB) continue;
    const Bytes inner(outer.begin() + kOuter, outer.end());
    const auto sent = h.from_uplink(outer);
    ASSERT_EQ(sent.size(), 1u) << "frame of " << outer.size() << " bytes";
    EXPECT_EQ(sent[0].port, kLocalPort);
    EXPECT_EQ(sent[0].bytes, inner);
    ++delivered;
  }
  EXPECT_EQ(delivered, 8);  // 2 NS, ARP reply + request, 3 echo replies, RST
  EXPECT_EQ(h.stats()[Counter::decap], 8u);
  EXPECT_EQ(h.stats().total_drops(), 0u);
  EXPECT_EQ(h.mbufs_in_use(), 0u);
}

// Our own encapsulation decapsulates back to the same inner frame (round trip
// between two pipelines configured as host A and host B).
TEST(Golden, RoundTripBetweenTwoPipelines) {
  Harness a;
  a.program_host_a();
  PipelineConfig cb = Harness::default_config();
  cb.underlay.vtep_ip = kVtepB;
  cb.underlay.uplink_mac = kRemoteHostMac;
  Harness b(cb);
  ASSERT_TRUE(b.tables().add_network(kVni, false));
  ASSERT_TRUE(b.tables().add_port(EndpointPort{3, kVni, kRemoteMac, {kRemoteIp}}));
  ASSERT_TRUE(b.tables().add_remote_mac(kVni, kLocalMac, kVtepA));
  for (std::size_t size : {0u, 18u, 100u, 1422u}) {
    const Bytes inner = inner_udp(kRemoteMac, kLocalMac, kLocalIp, kRemoteIp, 1234, 80, size);
    const auto encapsulated = a.from_endpoint(kLocalPort, inner);
    ASSERT_EQ(encapsulated.size(), 1u);
    const auto delivered = b.from_uplink(encapsulated[0].bytes);
    ASSERT_EQ(delivered.size(), 1u);
    EXPECT_EQ(delivered[0].port, 3);
    EXPECT_EQ(delivered[0].bytes, inner);
  }
}

}  // namespace
}  // namespace ferry::dataplane::test
