// Path MTU discovery (dataplane/core/pmtu.h): a unicast frame too big for the
// underlay is answered with ICMP Fragmentation Needed / ICMPv6 Packet Too Big
// out of the port it came from, exactly when the kernel's vxlan device
// answers one; otherwise it is dropped and counted.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>

#include "dataplane/core/counters.h"
#include "tests/dataplane/core/harness.h"

namespace ferry::dataplane::test {
namespace {

constexpr std::size_t kInnerMtu = 1450;  // 1500 underlay - 50

Bytes payload(std::size_t size) {
  Bytes p(size);
  for (std::size_t i = 0; i < size; ++i) p[i] = static_cast<std::uint8_t>(i * 7);
  return p;
}

// An IPv4 packet of `ip_size` bytes from the local container to the remote one.
Bytes v4_to_remote(std::size_t ip_size, bool df, std::uint8_t proto = 17, Bytes l4 = {}) {
  if (l4.empty()) l4 = udp(1000, 80, payload(ip_size - 28));
  return ether(kRemoteMac, kLocalMac, 0x0800, ipv4(kLocalIp, kRemoteIp, proto, l4, 7, df, 61));
}

Bytes v6_to_remote(std::size_t ip_size, std::uint8_t next = 17, Bytes l4 = {}) {
  if (l4.empty()) l4 = udp(1000, 80, payload(ip_size - 48));
  return ether(kRemoteMac, kLocalMac, 0x86dd, ipv6(kLocalIp6, kRemoteIp6, next, l4, 33));
}

std::uint16_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i < n; i += 2) sum += static_cast<std::uint32_t>(p[i] << 8 | (i + 1 < n ? p[i + 1] : 0));
  while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

class PmtuTest : public ::testing::Test {
 protected:
  void SetUp() override { h.program_host_a(); }
  void TearDown() override { EXPECT_EQ(h.mbufs_in_use(), 0u) << "mbuf leak"; }
  // Sends `frame` from the local container; expects it dropped as mtu_exceeded, unanswered.
  void expect_dropped_unanswered(const Bytes& frame) {
    const std::uint64_t before = h.stats()[Counter::mtu_exceeded];
    EXPECT_TRUE(h.from_endpoint(kLocalPort, frame).empty());
    EXPECT_EQ(h.stats()[Counter::mtu_exceeded], before + 1);
    EXPECT_EQ(h.stats()[Counter::pmtu_answered], 0u);
  }
  Harness h;
};

TEST_F(PmtuTest, Ipv4WithDontFragmentIsAnsweredAsTheKernelsVxlanDoes) {
  EXPECT_EQ(h.from_endpoint(kLocalPort, v4_to_remote(kInnerMtu, true)).size(), 1u) << "the largest that fits goes out";
  const Bytes big = v4_to_remote(kInnerMtu + 1, true);
  const auto sent = h.from_endpoint(kLocalPort, big);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, kLocalPort) << "back to the sender";
  const Bytes& r = sent[0].bytes;
  ASSERT_EQ(r.size(), 14u + 576u) << "as much of the original as fits 576 bytes";
  EXPECT_TRUE(std::equal(r.begin(), r.begin() + 6, big.begin() + 6)) << "to the sender's MAC";
  EXPECT_TRUE(std::equal(r.begin() + 6, r.begin() + 12, big.begin())) << "from the MAC it sent to";
  EXPECT_EQ(be16(r, 12), 0x0800);
  EXPECT_EQ(r[14], 0x45);
  EXPECT_EQ(be16(r, 16), 576);
  EXPECT_EQ(be16(r, 20), 0x4000) << "DF";
  EXPECT_EQ(r[22], 61) << "the original TTL";
  EXPECT_EQ(r[23], 1) << "ICMP";
  EXPECT_TRUE(std::equal(r.begin() + 26, r.begin() + 30, big.begin() + 30)) << "from the original destination";
  EXPECT_TRUE(std::equal(r.begin() + 30, r.begin() + 34, big.begin() + 26)) << "to the original source";
  EXPECT_EQ(ip_checksum_fold(r.data() + 14, 20), 0xffff);
  EXPECT_EQ(r[34], 3);
  EXPECT_EQ(r[35], 4);
  EXPECT_EQ(be16(r, 36 + 2), 0) << "unused";
  EXPECT_EQ(be16(r, 40), kInnerMtu);
  EXPECT_EQ(sum16(r.data() + 34, r.size() - 34), 0xffff) << "ICMP checksum";
  EXPECT_TRUE(std::equal(r.begin() + 42, r.end(), big.begin() + 14)) << "quotes the original packet";
  EXPECT_EQ(h.stats()[Counter::pmtu_answered], 1u);
  EXPECT_EQ(h.stats()[Counter::mtu_exceeded], 0u);
  EXPECT_EQ(h.stats().total_drops(), 0u);
}

TEST_F(PmtuTest, Ipv6IsAnsweredWithPacketTooBig) {
  const Bytes big = v6_to_remote(kInnerMtu + 100);
  const auto sent = h.from_endpoint(kLocalPort, big);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].port, kLocalPort);
  const Bytes& r = sent[0].bytes;
  ASSERT_EQ(r.size(), 14u + 1280u) << "as much of the original as fits the IPv6 minimum MTU";
  EXPECT_EQ(be16(r, 12), 0x86dd);
  EXPECT_EQ(r[14] >> 4, 6);
  EXPECT_EQ(be16(r, 18), 1240) << "payload length";
  EXPECT_EQ(r[20], 58) << "ICMPv6";
  EXPECT_EQ(r[21], 33) << "the original hop limit";
  EXPECT_TRUE(std::equal(r.begin() + 22, r.begin() + 38, kRemoteIp6.bytes.begin()));
  EXPECT_TRUE(std::equal(r.begin() + 38, r.begin() + 54, kLocalIp6.bytes.begin()));
  EXPECT_EQ(r[54], 2) << "Packet Too Big";
  EXPECT_EQ(r[55], 0);
  EXPECT_EQ((std::uint32_t{be16(r, 58)} << 16) | be16(r, 60), kInnerMtu);
  EXPECT_EQ(icmpv6_checksum_fold(r.data() + 14, r.size() - 14), 0xffff);
  EXPECT_TRUE(std::equal(r.begin() + 62, r.end(), big.begin() + 14));
  EXPECT_EQ(h.stats()[Counter::pmtu_answered], 1u);
}

TEST_F(PmtuTest, WhatMayNotBeAnsweredIsDroppedAndCounted) {
  SCOPED_TRACE("IPv4 without DF: Ferry never fragments and nobody asked to be told");
  expect_dropped_unanswered(v4_to_remote(kInnerMtu + 1, false));
  {
    SCOPED_TRACE("an IPv4 fragment (MF set)");
    Bytes f = v4_to_remote(kInnerMtu + 1, true);
    f[14 + 6] |= 0x20;
    expect_dropped_unanswered(f);
  }
  {
    SCOPED_TRACE("an ICMP error is never answered with another");
    Bytes l4 = payload(kInnerMtu + 1 - 20);
    l4[0] = 3;
    l4[1] = 4;
    expect_dropped_unanswered(v4_to_remote(kInnerMtu + 1, true, 1, l4));
  }
  {
    SCOPED_TRACE("an ICMPv6 error (a Redirect from a container never gets this far: RA guard)");
    Bytes l4 = payload(kInnerMtu + 1 - 40);
    l4[0] = 1;  // Destination Unreachable
    expect_dropped_unanswered(v6_to_remote(kInnerMtu + 1, 58, l4));
    l4[0] = 4;  // Parameter Problem
    expect_dropped_unanswered(v6_to_remote(kInnerMtu + 1, 58, l4));
  }
  {
    SCOPED_TRACE("an IPv6 fragment other than the first");
    Bytes l4 = payload(kInnerMtu + 1 - 40);
    l4[0] = 17;    // next header
    l4[2] = 0x05;  // offset 0x05xx (not 0)
    expect_dropped_unanswered(v6_to_remote(kInnerMtu + 1, 44, l4));
  }
  EXPECT_EQ(h.stats()[Counter::pmtu_answered], 0u);
}

TEST_F(PmtuTest, AFirstFragmentBehindExtensionHeadersIsAnswered) {
  Bytes l4 = payload(kInnerMtu + 1 - 40);
  l4[0] = 17;  // fragment header: next UDP, offset 0, M set
  l4[2] = 0;
  l4[3] = 1;
  const auto sent = h.from_endpoint(kLocalPort, v6_to_remote(kInnerMtu + 1, 44, l4));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].bytes[54], 2);
}

TEST_F(PmtuTest, AJumboUnderlayAnnouncesItsLargerMtu) {
  PipelineConfig c = Harness::default_config();
  c.underlay_mtu = 9000;
  Harness jumbo(c, 512);
  jumbo.program_host_a();
  EXPECT_EQ(jumbo.from_endpoint(kLocalPort, v4_to_remote(8950, true)).size(), 1u);
  const auto sent = jumbo.from_endpoint(kLocalPort, v4_to_remote(8951, true));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(be16(sent[0].bytes, 40), 8950);
  EXPECT_EQ(jumbo.mbufs_in_use(), 0u);
}

}  // namespace
}  // namespace ferry::dataplane::test
