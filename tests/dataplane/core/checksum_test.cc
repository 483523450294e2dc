// Internet checksum: the fast sums against a plain RFC 1071 loop, chains,
// pseudo-headers, completing and verifying, and real kernel frames.
#include "dataplane/core/checksum.h"

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <random>

#include "dataplane/core/offload.h"
#include "tests/dataplane/core/offload_support.h"
#include "tests/dataplane/core/pcap.h"

namespace ferry::dataplane::test {
namespace {

// The folded sum as big-endian words would give it (csum_* sum host-order words).
std::uint16_t wire(std::uint16_t host_order_fold) {
  std::uint8_t b[2];
  store16(b, host_order_fold);
  return static_cast<std::uint16_t>(b[0] << 8 | b[1]);
}

TEST(ChecksumTest, SumsMatchRfc1071AtEverySizeAndAlignment) {
  std::mt19937 rng(11);
  Bytes buf(70000 + 64);
  for (auto& b : buf) b = static_cast<std::uint8_t>(rng());
  std::vector<std::size_t> sizes;
  for (std::size_t s = 0; s <= 300; ++s) sizes.push_back(s);
  for (std::size_t s : {1023u, 1024u, 1448u, 1449u, 4095u, 9000u, 65535u, 65536u, 70000u}) sizes.push_back(s);
  for (std::size_t size : sizes) {
    for (std::size_t align = 0; align < 4; ++align) {
      const std::uint8_t* p = buf.data() + align;
      const std::uint16_t want = naive_sum(p, size);
      EXPECT_EQ(wire(csum_fold(csum_bytes(p, size))), want) << size << " at +" << align;
      EXPECT_EQ(wire(csum_fold(csum_bytes_scalar(p, size))), want) << size << " at +" << align;
    }
  }
  std::printf("csum_bytes uses %s\n", csum_implementation());
}

TEST(ChecksumTest, AllOnesAndZerosFoldLikeTheKernel) {
  const Bytes ones(65536, 0xff);
  EXPECT_EQ(csum_fold(csum_bytes(ones.data(), ones.size())), 0xffff);  // minus zero, never 0
  const Bytes zeros(1000, 0);
  EXPECT_EQ(csum_fold(csum_bytes(zeros.data(), zeros.size())), 0);
  EXPECT_EQ(csum_fold(csum_add(0xffffffffffffffffull, 1)), csum_fold(1));
}

TEST(ChecksumTest, ChainSumsEqualFlatSumsForEverySplit) {
  Pools pools;
  std::mt19937 rng(5);
  Bytes frame(5000);
  for (auto& b : frame) b = static_cast<std::uint8_t>(rng());
  for (std::size_t seg : {1u, 3u, 7u, 64u, 333u, 1000u, 4999u, 5000u}) {
    rte_mbuf* m = pools.chain(frame, seg);
    for (int trial = 0; trial < 50; ++trial) {
      const std::uint32_t off = rng() % frame.size();
      const std::uint32_t len = rng() % (frame.size() - off + 1);
      EXPECT_EQ(wire(csum_fold(csum_mbuf(m, off, len))), naive_sum(frame.data() + off, len))
          << "segments of " << seg << ", [" << off << ", +" << len << ")";
    }
    rte_pktmbuf_free(m);
  }
  EXPECT_EQ(pools.in_use(), 0u);
}

TEST(ChecksumTest, PseudoHeadersAndCompletionMakeValidChecksums) {
  Pools pools;
  for (bool ipv6 : {false, true}) {
    for (bool udp : {false, true}) {
      for (std::size_t payload : {0u, 1u, 2u, 3u, 1447u, 1448u, 60000u}) {
        FrameSpec s;
        s.ipv6 = ipv6;
        s.udp = udp;
        s.payload = payload;
        s.random_payload = true;
        s.csum = Csum::Partial;
        const Bytes partial = make_frame(s);
        s.csum = Csum::Full;
        const Bytes full = make_frame(s);
        const std::size_t l4 = ipv6 ? 54 : 34;
        // The partial field is the pseudo-header sum pseudo_header_ipv4/6 make.
        const std::uint8_t* ip = partial.data() + 14;
        const std::uint8_t proto = udp ? 17 : 6;
        const std::uint32_t l4_size = static_cast<std::uint32_t>(partial.size() - l4);
        const std::uint16_t ph = ipv6 ? pseudo_header_ipv6(ip, proto, l4_size) : pseudo_header_ipv4(ip, proto, l4_size);
        std::uint8_t field[2];
        store16(field, ph);
        EXPECT_EQ(get16(partial, l4 + (udp ? 6 : 16)), field[0] << 8 | field[1]);

        rte_mbuf* m = pools.chain(partial, 700);
        EXPECT_FALSE(csum_verify(m, static_cast<std::uint32_t>(l4), ph) && payload > 0);
        EXPECT_EQ(csum_complete(m, static_cast<std::uint32_t>(l4), udp ? 6 : 16, udp), l4_size);
        EXPECT_EQ(flatten(m), full) << "ipv6 " << ipv6 << " udp " << udp << " payload " << payload;
        EXPECT_TRUE(csum_verify(m, static_cast<std::uint32_t>(l4), ph));
        rte_pktmbuf_free(m);
      }
    }
  }
  EXPECT_EQ(pools.in_use(), 0u);
}

TEST(ChecksumTest, UdpChecksumZeroIsSentAsAllOnes) {
  Pools pools;
  FrameSpec s;
  s.udp = true;
  s.payload = 2;
  s.csum = Csum::Partial;
  Bytes f = make_frame(s);
  // The field holds the pseudo-header sum: choose the last two payload bytes
  // so the whole datagram sums to 0xffff, i.e. a checksum of 0.
  set16(f, f.size() - 2, 0);
  set16(f, f.size() - 2, static_cast<std::uint16_t>(~naive_sum(f.data() + 34, f.size() - 34)));
  rte_mbuf* m = pools.chain(f);
  (void)csum_complete(m, 34, 6, true);
  const Bytes done = flatten(m);
  rte_pktmbuf_free(m);
  EXPECT_EQ(get16(done, 40), 0xffff);
  EXPECT_TRUE(l4_checksum_ok(done, 14, 34, false, 17));
  EXPECT_EQ(pools.in_use(), 0u);
}

TEST(ChecksumTest, Ipv4HeaderChecksum) {
  FrameSpec s;
  s.ip_options = {0x94, 0x04, 0x00, 0x00};  // router alert
  Bytes f = make_frame(s);
  const std::uint16_t want = get16(f, 24);
  EXPECT_TRUE(ipv4_header_checksum_ok(f.data() + 14));
  set16(f, 24, 0xdead);
  EXPECT_FALSE(ipv4_header_checksum_ok(f.data() + 14));
  std::uint8_t field[2];
  store16(field, ipv4_header_checksum(f.data() + 14));
  EXPECT_EQ(field[0] << 8 | field[1], want);
}

// Real frames from the kernel (tests/data/kernel-vxlan-vni4242.pcap): its
// checksums, computed by Linux, verify with ours.
TEST(ChecksumTest, KernelFramesVerify) {
  auto frames = read_pcap(std::string(FERRY_TEST_DATA) + "/kernel-vxlan-vni4242.pcap");
  ASSERT_TRUE(frames) << frames.error().message;
  Pools pools;
  int tcp = 0, udp = 0;
  for (const auto& fr : *frames) {
    const Bytes& f = fr.bytes;
    if (f.size() < 50 + 34 || get16(f, 12) != 0x0800 || f[23] != 17) continue;
    rte_mbuf* m = pools.chain(f, 100);
    // Outer UDP (the kernel filled it in).
    const std::uint32_t outer_udp = static_cast<std::uint32_t>(f.size() - 34);
    if (get16(f, 40) != 0) {
      EXPECT_TRUE(csum_verify(m, 34, pseudo_header_ipv4(f.data() + 14, 17, outer_udp)));
      ++udp;
    }
    EXPECT_TRUE(ipv4_header_checksum_ok(f.data() + 14));
    // Inner IPv4/TCP.
    if (get16(f, 50 + 12) == 0x0800 && f[50 + 14 + 9] == 6) {
      const std::uint32_t l4 = 50 + 14 + 20;
      EXPECT_TRUE(csum_verify(m, l4, pseudo_header_ipv4(f.data() + 64, 6, static_cast<std::uint32_t>(f.size() - l4))));
      ++tcp;
    }
    rte_pktmbuf_free(m);
  }
  EXPECT_GE(tcp, 2);
  EXPECT_GE(udp, 10);
  EXPECT_EQ(pools.in_use(), 0u);
}

}  // namespace
}  // namespace ferry::dataplane::test
