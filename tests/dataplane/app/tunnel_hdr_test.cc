// The 24-byte tunnel virtio-net header of the tap uplink: byte-exact
// encoding (the layout the kernel reads), every gso_type and flag through the
// send and receive rules, the decapsulation cases (tunnel GSO, outer-only
// partial checksum, inner partial checksum, DATA_VALID, refusals), and the
// start-up probe's decision.
#include "dataplane/app/tunnel_hdr.h"

#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <vector>

namespace ferry::dataplane::app::tunnel_hdr {
namespace {

// Outer Ethernet/IPv4/UDP/VXLAN + an inner Ethernet header (enough for outer_layout).
std::vector<std::uint8_t> outer_frame(bool ipv6 = false, std::uint8_t ihl = 5, std::uint8_t proto = 17) {
  std::vector<std::uint8_t> f(14 + (ipv6 ? 40 : ihl * 4) + 16 + 14 + 20, 0);
  f[12] = ipv6 ? 0x86 : 0x08;
  f[13] = ipv6 ? 0xdd : 0x00;
  if (ipv6) {
    f[14] = 0x60;
    f[14 + 6] = proto;
  } else {
    f[14] = static_cast<std::uint8_t>(0x40 | ihl);
    f[14 + 9] = proto;
  }
  return f;
}

TEST(TunnelHdr, EncodesTheKernelsLayoutByteForByte) {
  Header h;
  h.flags = 0x01 | kFlagUdpTunnelCsum;
  h.gso_type = 0x21;
  h.hdr_len = 0x0102;
  h.gso_size = 0x0576;  // 1398
  h.csum_start = 84;
  h.csum_offset = 16;
  h.num_buffers = 0x0a0b;
  h.hash_value = 0x11223344;
  h.hash_report = 0x0506;
  h.outer_th_offset = 34;
  h.inner_nh_offset = 64;
  std::array<std::uint8_t, kSize> out{};
  out.fill(0xee);
  encode(h, out.data());
  const std::array<std::uint8_t, kSize> want = {0x09, 0x21, 0x02, 0x01, 0x76, 0x05, 84,   0,    16, 0, 0x0b, 0x0a,
                                                0x44, 0x33, 0x22, 0x11, 0x06, 0x05, 0x00, 0x00, 34, 0, 64,   0};
  EXPECT_EQ(out, want);
  EXPECT_EQ(decode(out.data()), h);
}

TEST(TunnelHdr, OuterLayoutOfIpv4AndIpv6AndWhatIsRefused) {
  auto v4 = outer_frame();
  auto o = outer_layout(v4.data(), static_cast<std::uint32_t>(v4.size()));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->udp, 34);
  EXPECT_EQ(o->inner, 50);
  EXPECT_FALSE(o->ipv6);
  auto opts = outer_frame(false, 6);
  o = outer_layout(opts.data(), static_cast<std::uint32_t>(opts.size()));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->inner, 54);
  auto v6 = outer_frame(true);
  o = outer_layout(v6.data(), static_cast<std::uint32_t>(v6.size()));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->udp, 54);
  EXPECT_EQ(o->inner, 70);
  EXPECT_TRUE(o->ipv6);
  auto tcp = outer_frame(false, 5, 6);
  EXPECT_FALSE(outer_layout(tcp.data(), static_cast<std::uint32_t>(tcp.size())));
  auto arp = outer_frame();
  arp[12] = 0x08;
  arp[13] = 0x06;
  EXPECT_FALSE(outer_layout(arp.data(), static_cast<std::uint32_t>(arp.size())));
  EXPECT_FALSE(outer_layout(v4.data(), 14 + 20 + 16 + 13));  // the inner Ethernet header cut
}

struct TxCase {
  std::uint8_t inner_gso;
  bool ipv6_outer;
  std::uint8_t want_gso;
};

TEST(TunnelHdr, SendHeaderForEveryGsoType) {
  const OuterLayout v4{34, 50, false};
  const OuterLayout v6{54, 70, true};
  for (const TxCase c : {TxCase{kVnetGsoTcpV4, false, 0x21}, TxCase{kVnetGsoTcpV6, false, 0x24},
                         TxCase{kVnetGsoUdpL4, false, 0x25}, TxCase{kVnetGsoTcpV4 | kVnetGsoEcn, false, 0xa1},
                         TxCase{kVnetGsoTcpV4, true, 0x41}, TxCase{kVnetGsoTcpV6 | kVnetGsoEcn, true, 0xc4}}) {
    SCOPED_TRACE(static_cast<int>(c.inner_gso));
    VnetHdr inner;
    inner.flags = kVnetNeedsCsum;
    inner.gso_type = c.inner_gso;
    inner.gso_size = 1398;
    inner.hdr_len = 66;
    inner.csum_start = 34;
    inner.csum_offset = 16;
    const OuterLayout& o = c.ipv6_outer ? v6 : v4;
    const Header h = tunnel_tx_header(inner, o, 14);
    EXPECT_EQ(h.flags, kVnetNeedsCsum);  // never the outer-checksum flag: the outer UDP checksum is 0
    EXPECT_EQ(h.gso_type, c.want_gso);
    EXPECT_EQ(h.gso_size, 1398);
    EXPECT_EQ(h.hdr_len, 66 + o.inner);
    EXPECT_EQ(h.csum_start, 34 + o.inner);
    EXPECT_EQ(h.csum_offset, 16);
    EXPECT_EQ(h.outer_th_offset, o.udp);
    EXPECT_EQ(h.inner_nh_offset, o.inner + 14);
  }
}

TEST(TunnelHdr, SendHeaderWithoutGso) {
  const OuterLayout v4{34, 50, false};
  // A complete checksum: nothing at all.
  EXPECT_EQ(tunnel_tx_header(VnetHdr{}, v4, 14), Header{});
  // A partial inner checksum: moved by the outer headers, no tunnel fields.
  VnetHdr inner;
  inner.flags = kVnetNeedsCsum;
  inner.csum_start = 34;
  inner.csum_offset = 6;
  Header want;
  want.flags = kVnetNeedsCsum;
  want.csum_start = 84;
  want.csum_offset = 6;
  EXPECT_EQ(tunnel_tx_header(inner, v4, 14), want);
  // A VLAN-tagged inner frame: the inner IP header 18 bytes in.
  inner.gso_type = kVnetGsoTcpV4;
  inner.gso_size = 1000;
  inner.csum_start = 38;
  inner.csum_offset = 16;
  EXPECT_EQ(tunnel_tx_header(inner, v4, 18).inner_nh_offset, 68);
}

TEST(TunnelHdr, ReceiveTunnelGsoStripsTheOuterHeaders) {
  const OuterLayout v4{34, 50, false};
  for (const std::uint8_t inner_gso :
       {kVnetGsoTcpV4, kVnetGsoTcpV6, kVnetGsoUdpL4, static_cast<std::uint8_t>(kVnetGsoTcpV4 | kVnetGsoEcn)}) {
    for (const bool outer_csum : {false, true}) {
      SCOPED_TRACE(static_cast<int>(inner_gso) * 10 + static_cast<int>(outer_csum));
      Header h;
      h.flags = static_cast<std::uint8_t>(kVnetNeedsCsum | (outer_csum ? kFlagUdpTunnelCsum : 0));
      h.gso_type = static_cast<std::uint8_t>(inner_gso | kGsoUdpTunnelIpv4);
      h.gso_size = 1398;
      h.hdr_len = 116;
      h.csum_start = 84;
      h.csum_offset = 16;
      h.outer_th_offset = 34;
      h.inner_nh_offset = 64;
      const RxDecap d = tunnel_rx_decap(h, v4);
      EXPECT_TRUE(d.tunnel_gso);
      EXPECT_FALSE(d.refused);
      EXPECT_FALSE(d.outer_only);
      EXPECT_EQ(d.inner.flags, kVnetNeedsCsum);  // flag 8 cleared
      EXPECT_EQ(d.inner.gso_type, inner_gso);
      EXPECT_EQ(d.inner.gso_size, 1398);
      EXPECT_EQ(d.inner.hdr_len, 66);
      EXPECT_EQ(d.inner.csum_start, 34);
      EXPECT_EQ(d.inner.csum_offset, 16);
    }
  }
}

TEST(TunnelHdr, ReceiveTunnelGsoRefusals) {
  const OuterLayout v4{34, 50, false};
  Header h;
  h.flags = kVnetNeedsCsum;
  h.gso_type = 0x21;
  h.gso_size = 1398;
  h.csum_start = 84;
  h.csum_offset = 16;
  EXPECT_FALSE(tunnel_rx_decap(h, v4).refused);
  Header wrong = h;
  wrong.gso_type = 0x41;  // IPv6 tunnel on an IPv4 outer header
  EXPECT_TRUE(tunnel_rx_decap(wrong, v4).refused);
  wrong = h;
  wrong.gso_type = 0x61;  // both tunnel bits
  EXPECT_TRUE(tunnel_rx_decap(wrong, v4).refused);
  wrong = h;
  wrong.flags = 0;  // tunnel GSO without NEEDS_CSUM
  EXPECT_TRUE(tunnel_rx_decap(wrong, v4).refused);
  wrong = h;
  wrong.csum_start = 34;  // inside the outer headers
  EXPECT_TRUE(tunnel_rx_decap(wrong, v4).refused);
  wrong = h;
  wrong.gso_size = 0;
  EXPECT_TRUE(tunnel_rx_decap(wrong, v4).refused);
  // A plain GSO type describes the outer datagram: refused.
  for (const std::uint8_t plain : {kVnetGsoTcpV4, kVnetGsoUdp, kVnetGsoTcpV6, kVnetGsoUdpL4}) {
    Header outer_gso;
    outer_gso.flags = kVnetNeedsCsum;
    outer_gso.gso_type = plain;
    outer_gso.gso_size = 1400;
    outer_gso.csum_start = 34;
    outer_gso.csum_offset = 6;
    EXPECT_TRUE(tunnel_rx_decap(outer_gso, v4).refused) << static_cast<int>(plain);
  }
}

TEST(TunnelHdr, ReceiveWithoutGso) {
  const OuterLayout v4{34, 50, false};
  // Outer-only partial (a kernel VTEP's local checksum offload): no request.
  Header h;
  h.flags = kVnetNeedsCsum;
  h.csum_start = 34;
  h.csum_offset = 6;
  RxDecap d = tunnel_rx_decap(h, v4);
  EXPECT_TRUE(d.outer_only);
  EXPECT_FALSE(d.refused);
  EXPECT_EQ(d.inner.flags, 0);
  // Inner partial: moved.
  h.csum_start = 84;
  h.csum_offset = 16;
  d = tunnel_rx_decap(h, v4);
  EXPECT_FALSE(d.outer_only);
  EXPECT_EQ(d.inner.flags, kVnetNeedsCsum);
  EXPECT_EQ(d.inner.csum_start, 34);
  EXPECT_EQ(d.inner.csum_offset, 16);
  EXPECT_EQ(d.inner.gso_type, kVnetGsoNone);
  // DATA_VALID and the tunnel-checksum flag alone: dropped, nothing asked.
  for (const std::uint8_t flags : {kVnetDataValid, kFlagUdpTunnelCsum}) {
    Header only;
    only.flags = flags;
    d = tunnel_rx_decap(only, v4);
    EXPECT_FALSE(d.refused);
    EXPECT_EQ(d.inner, VnetHdr{}) << static_cast<int>(flags);
  }
}

TEST(TunnelHdr, ProbeDecision) {
  EXPECT_EQ(probe_result(0, 0), Probe::kSupported);
  EXPECT_EQ(probe_result(-1, EINVAL), Probe::kUnsupported);  // a < 6.17 kernel: unknown offload bits
  EXPECT_EQ(probe_result(-1, EPERM), Probe::kError);
  EXPECT_EQ(probe_result(-1, EBADFD), Probe::kError);
  // The bits the tap asks for, as the kernel numbers them.
  EXPECT_EQ(kTapOffloads, 0x01u | 0x02u | 0x04u | 0x80u | 0x100u);
}

}  // namespace
}  // namespace ferry::dataplane::app::tunnel_hdr
