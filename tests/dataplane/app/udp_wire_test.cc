// The UDP uplink's byte-level rules: outer header parsing, UDP_SEGMENT
// grouping at the kernel's limits, telling GRO batches from a peer's
// super-frames, inner metadata, and frame mode's headers, segments and
// checksums (checked with an independent checksum implementation).
#include "dataplane/app/udp_wire.h"

#include <gtest/gtest.h>
#include <rte_mbuf_core.h>

#include "tests/dataplane/app/udp_frames.h"

namespace ferry::dataplane::app::udp_wire {
namespace {

using test::Bytes;
using test::InnerSpec;

IpAddress v4(std::uint32_t host_order) {
  IpAddress a;
  a.family = Family::kIPv4;
  for (int i = 0; i < 4; ++i)
    a.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(host_order >> (24 - 8 * i));
  return a;
}
IpAddress v6_last(std::uint8_t last) {
  IpAddress a;
  a.family = Family::kIPv6;
  a.bytes[0] = 0xfd;
  a.bytes[15] = last;
  return a;
}

// ---- sizes

TEST(UdpWire, SizesFollowTheUnderlayMtu) {
  EXPECT_EQ(max_datagram(Family::kIPv4, 1500), 1472U);
  EXPECT_EQ(max_datagram(Family::kIPv6, 1500), 1452U);
  EXPECT_EQ(inner_mtu(Family::kIPv4, 1500), 1450U);
  EXPECT_EQ(inner_mtu(Family::kIPv6, 1500), 1430U);
  EXPECT_EQ(max_datagram(Family::kIPv4, 9000), 8972U);
  EXPECT_EQ(max_send(Family::kIPv4), 65507U);
  EXPECT_EQ(max_send(Family::kIPv6), 65527U);
  // A datagram carrying a full-size inner frame is exactly the largest one.
  EXPECT_EQ(kVxlanSize + kEthSize + inner_mtu(Family::kIPv4, 1500), max_datagram(Family::kIPv4, 1500));
  EXPECT_EQ(kVxlanSize + kEthSize + inner_mtu(Family::kIPv6, 1500), max_datagram(Family::kIPv6, 1500));
}

// ---- parse_outer

TEST(UdpWire, ParsesTheOuterHeaderThePipelineBuilds) {
  const Bytes payload = test::vxlan_payload(test::inner_frame(InnerSpec{}));
  const Bytes f = test::outer_frame4(payload, 0xac1f0002, 4789, 50001, 0x02);
  auto o = parse_outer(f.data(), static_cast<std::uint32_t>(f.size()), static_cast<std::uint32_t>(f.size()));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->family, Family::kIPv4);
  EXPECT_EQ(o->header_size, 42U);
  EXPECT_EQ(o->payload_size, payload.size());
  EXPECT_EQ(o->src_port, 50001);
  EXPECT_EQ(o->dst_port, 4789);
  EXPECT_EQ(o->tos, 0x02);
  EXPECT_EQ(o->dst[0], 0xac);
  EXPECT_EQ(o->dst[3], 0x02);
  // Only the first 42 bytes need to be in the head segment.
  EXPECT_TRUE(parse_outer(f.data(), 42, static_cast<std::uint32_t>(f.size())));
}

TEST(UdpWire, ParsesAnIpv6OuterHeader) {
  const Bytes payload = test::vxlan_payload(test::inner_frame(InnerSpec{}));
  std::uint8_t dst[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
  Bytes f = test::outer_frame6(payload, dst, 4789, 49999);
  f[14] = 0x60 | 0x0b;  // traffic class 0xb3: DSCP 44, ECN 3
  f[15] = 0x30;
  auto o = parse_outer(f.data(), static_cast<std::uint32_t>(f.size()), static_cast<std::uint32_t>(f.size()));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->family, Family::kIPv6);
  EXPECT_EQ(o->header_size, 62U);
  EXPECT_EQ(o->payload_size, payload.size());
  EXPECT_EQ(o->dst[15], 7);
  EXPECT_EQ(o->tos, 0xb3);
}

TEST(UdpWire, RefusesWhatIsNotAnOuterVxlanFrame) {
  const Bytes payload = test::vxlan_payload(test::inner_frame(InnerSpec{}));
  const Bytes good = test::outer_frame4(payload, 0xac1f0002, 4789, 50001);
  const auto size = static_cast<std::uint32_t>(good.size());
  auto refused = [](Bytes f, std::uint32_t frame_size) {
    return !parse_outer(f.data(), static_cast<std::uint32_t>(f.size()), frame_size);
  };
  Bytes arp = good;
  test::put16(arp, 12, 0x0806);
  EXPECT_TRUE(refused(arp, size));
  Bytes vlan = good;
  test::put16(vlan, 12, 0x8100);
  EXPECT_TRUE(refused(vlan, size));
  Bytes options = good;
  options[14] = 0x46;
  EXPECT_TRUE(refused(options, size));
  Bytes tcp = good;
  tcp[23] = 6;
  EXPECT_TRUE(refused(tcp, size));
  Bytes fragment = good;
  fragment[20] = 0x20;  // MF
  EXPECT_TRUE(refused(fragment, size));
  Bytes udp_len = good;
  test::put16(udp_len, 38, test::get16(good.data() + 38) - 1);
  EXPECT_TRUE(refused(udp_len, size));
  EXPECT_TRUE(refused(good, size - 1));  // the frame is shorter than its headers say
  EXPECT_TRUE(refused(Bytes(good.begin(), good.begin() + 41), 41));
  EXPECT_FALSE(refused(good, size));
}

// ---- UDP_SEGMENT grouping

// Groups `count` datagrams of `size` (then an optional `last`), as tx_burst does.
std::vector<GsoGroup> group(std::uint32_t count, std::uint32_t size, std::uint32_t max_bytes, std::uint32_t last = 0) {
  std::vector<GsoGroup> groups(1);
  auto add = [&](std::uint32_t s) {
    if (!gso_append(groups.back(), s, max_bytes)) {
      groups.emplace_back();
      EXPECT_TRUE(gso_append(groups.back(), s, max_bytes));
    }
  };
  for (std::uint32_t i = 0; i < count; ++i) add(size);
  if (last != 0) add(last);
  return groups;
}

TEST(UdpWire, A64KInnerFrameAtMtu1450TakesTwoSends) {
  // A 64 KiB TCP super-frame from a container at MTU 1450 (MSS 1398 with
  // timestamps) is 47 segments; each is a full 1472-byte VXLAN datagram on a
  // 1500 underlay. 44 * 1472 = 64 768 fits 65 507, 45 * 1472 = 66 240 does not.
  const std::uint32_t segments = (65536 - 52 + 1397) / 1398;
  ASSERT_EQ(segments, 47U);
  const auto groups = group(segments, max_datagram(Family::kIPv4, 1500), max_send(Family::kIPv4));
  ASSERT_EQ(groups.size(), 2U);
  EXPECT_EQ(groups[0].count, 44U);
  EXPECT_EQ(groups[0].bytes, 64768U);
  EXPECT_EQ(groups[0].segment_size, 1472U);
  EXPECT_EQ(groups[1].count, 3U);
}

TEST(UdpWire, ASendMayFillExactly65507Bytes) {
  // 44 full datagrams plus a shorter last one of 739 bytes: 65 507 exactly.
  auto groups = group(44, 1472, kMaxSend4, 739);
  ASSERT_EQ(groups.size(), 1U);
  EXPECT_EQ(groups[0].bytes, 65507U);
  EXPECT_TRUE(groups[0].closed);
  // One byte more does not fit: the last one leaves in a send of its own.
  groups = group(44, 1472, kMaxSend4, 740);
  ASSERT_EQ(groups.size(), 2U);
  EXPECT_EQ(groups[0].bytes, 64768U);
  EXPECT_EQ(groups[1].count, 1U);
  EXPECT_EQ(groups[1].bytes, 740U);
}

TEST(UdpWire, AtMostSixtyFourSegmentsPerSend) {
  // At a 576 underlay 64 segments of 548 bytes are 35 072 bytes: the segment
  // count, not the size, is the limit.
  const std::uint32_t seg = max_datagram(Family::kIPv4, 576);
  ASSERT_EQ(seg, 548U);
  const auto groups = group(65, seg, kMaxSend4);
  ASSERT_EQ(groups.size(), 2U);
  EXPECT_EQ(groups[0].count, kMaxGsoSegments);
  EXPECT_EQ(groups[1].count, 1U);
}

TEST(UdpWire, JumboDatagramsSevenPerSend) {
  const std::uint32_t seg = max_datagram(Family::kIPv4, 9000);
  const auto groups = group(8, seg, kMaxSend4);
  ASSERT_EQ(groups.size(), 2U);
  EXPECT_EQ(groups[0].count, 7U);  // 7 * 8972 = 62 804; 8 would be 71 776
  EXPECT_EQ(groups[1].count, 1U);
}

TEST(UdpWire, OnlyOneShorterDatagramEndsAGroup) {
  GsoGroup g;
  ASSERT_TRUE(gso_append(g, 1000, kMaxSend4));
  EXPECT_TRUE(gso_append(g, 1000, kMaxSend4));
  EXPECT_FALSE(gso_append(g, 1001, kMaxSend4));  // larger: never in the same send
  EXPECT_TRUE(gso_append(g, 600, kMaxSend4));    // shorter: last one
  EXPECT_TRUE(g.closed);
  EXPECT_FALSE(gso_append(g, 600, kMaxSend4));
  EXPECT_FALSE(gso_append(g, 1000, kMaxSend4));
  EXPECT_EQ(g.count, 3U);
  EXPECT_EQ(g.bytes, 2600U);
  EXPECT_EQ(g.segment_size, 1000U);
}

// ---- classify_rx

Bytes concat(const std::vector<Bytes>& parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(UdpWire, ASingleDatagramIsSingle) {
  const Bytes d = test::vxlan_payload(test::inner_frame(InnerSpec{}));
  const auto size = static_cast<std::uint32_t>(d.size());
  EXPECT_EQ(classify_rx(d.data(), size, 0).kind, RxKind::kSingle);
  EXPECT_EQ(classify_rx(d.data(), size, size).kind, RxKind::kSingle);
  EXPECT_EQ(classify_rx(d.data(), size, 1472).kind, RxKind::kSingle);
}

TEST(UdpWire, AGroBatchOfSeveralFlowsIsABatch) {
  InnerSpec a;
  a.payload = 1398;
  InnerSpec b = a;
  b.src_port = 40001;
  b.udp = true;
  b.payload = 1422;  // same datagram size as a's (TCP header 32, UDP 8)
  const Bytes da = test::vxlan_payload(test::inner_frame(a));
  const Bytes db = test::vxlan_payload(test::inner_frame(b));
  ASSERT_EQ(da.size(), db.size());
  InnerSpec c = a;
  c.payload = 10;
  const Bytes dc = test::vxlan_payload(test::inner_frame(c));
  const Bytes batch = concat({da, db, da, dc});
  const auto split =
      classify_rx(batch.data(), static_cast<std::uint32_t>(batch.size()), static_cast<std::uint32_t>(da.size()));
  EXPECT_EQ(split.kind, RxKind::kBatch);
  EXPECT_EQ(split.segment_size, da.size());
}

TEST(UdpWire, PaddedTinyFramesInABatchAreABatch) {
  InnerSpec s;
  s.payload = 0;
  s.tcp_options = 0;
  Bytes inner = test::inner_frame(s);  // 54 bytes
  inner.resize(60, 0);                 // Ethernet padding: IP length no longer reaches the end
  const Bytes d = test::vxlan_payload(inner);
  const Bytes batch = concat({d, d, d});
  EXPECT_EQ(classify_rx(batch.data(), static_cast<std::uint32_t>(batch.size()), 68).kind, RxKind::kBatch);
}

TEST(UdpWire, APeersUdpSuperFrameWithTheInnerGsoSizeIsOneDatagram) {
  // What a Linux VXLAN peer's tunnel GSO packet with an inner UDP GSO
  // super-frame looks like to a UDP_GRO socket: one 14 050-byte datagram,
  // cmsg gso_size 1400 (the INNER segment size).
  InnerSpec s;
  s.udp = true;
  s.partial = true;
  s.payload = 14000;
  const Bytes d = test::vxlan_payload(test::inner_frame(s));
  ASSERT_EQ(d.size(), 14050U);
  const auto split = classify_rx(d.data(), static_cast<std::uint32_t>(d.size()), 1400);
  EXPECT_EQ(split.kind, RxKind::kSuperframe);
  EXPECT_EQ(split.segment_size, 1400U);
}

// ---- parse_inner / inner_offload

TEST(UdpWire, ParsesInnerTcpAndSeesAPartialChecksum) {
  InnerSpec s;
  s.payload = 500;
  const Bytes complete = test::inner_frame(s);
  Inner in = parse_inner(complete.data(), static_cast<std::uint32_t>(complete.size()));
  ASSERT_TRUE(in.ip);
  EXPECT_EQ(in.family, Family::kIPv4);
  EXPECT_EQ(in.l4_proto, 6);
  EXPECT_EQ(in.l2_len, 14);
  EXPECT_EQ(in.l3_len, 20);
  EXPECT_EQ(in.l4_len, 32);
  EXPECT_EQ(in.size, complete.size());
  EXPECT_EQ(in.l4_payload(), 500U);
  EXPECT_FALSE(in.partial_checksum);
  s.partial = true;
  const Bytes partial = test::inner_frame(s);
  EXPECT_TRUE(parse_inner(partial.data(), static_cast<std::uint32_t>(partial.size())).partial_checksum);
}

TEST(UdpWire, ParsesInnerIpv6UdpAndVlan) {
  InnerSpec s;
  s.ipv6 = true;
  s.udp = true;
  s.vlan = true;
  s.partial = true;
  const Bytes f = test::inner_frame(s);
  const Inner in = parse_inner(f.data(), static_cast<std::uint32_t>(f.size()));
  ASSERT_TRUE(in.ip);
  EXPECT_EQ(in.family, Family::kIPv6);
  EXPECT_EQ(in.l4_proto, 17);
  EXPECT_EQ(in.l2_len, 18);
  EXPECT_EQ(in.l3_len, 40);
  EXPECT_EQ(in.l4_len, 8);
  EXPECT_TRUE(in.partial_checksum);
}

TEST(UdpWire, InnerWithoutUsableL4HasNoMetadata) {
  InnerSpec s;
  Bytes frag = test::inner_frame(s);
  frag[14 + 6] = 0x20;  // MF
  Inner in = parse_inner(frag.data(), static_cast<std::uint32_t>(frag.size()));
  EXPECT_TRUE(in.ip);
  EXPECT_EQ(in.l4_proto, 0);
  EXPECT_EQ(inner_offload(in, 1450, 0).ol_flags, 0U);
  const Bytes whole = test::inner_frame(s);
  in = parse_inner(whole.data(), static_cast<std::uint32_t>(whole.size() - 1));  // cut short
  EXPECT_FALSE(in.ip);
  Bytes arp(60, 0);
  arp[12] = 0x08;
  arp[13] = 0x06;
  EXPECT_FALSE(parse_inner(arp.data(), 60).ip);
}

TEST(UdpWire, OffloadForSuperFramesAndPartialChecksums) {
  InnerSpec s;
  s.partial = true;
  s.payload = 13980;  // 10 segments of 1398
  Bytes f = test::inner_frame(s);
  Offload o = inner_offload(parse_inner(f.data(), static_cast<std::uint32_t>(f.size())), 1450, 0);
  EXPECT_EQ(o.ol_flags, RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4);
  EXPECT_EQ(o.tso_segsz, 1398);  // 1450 - 20 - 32: what the kernel used in the same set-up
  EXPECT_EQ(o.l2_len, 14);
  EXPECT_EQ(o.l3_len, 20);
  EXPECT_EQ(o.l4_len, 32);

  s.payload = 1398;  // a full segment, not a super-frame
  f = test::inner_frame(s);
  o = inner_offload(parse_inner(f.data(), static_cast<std::uint32_t>(f.size())), 1450, 0);
  EXPECT_EQ(o.ol_flags, RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4);
  EXPECT_EQ(o.tso_segsz, 0);

  s.partial = false;
  f = test::inner_frame(s);
  o = inner_offload(parse_inner(f.data(), static_cast<std::uint32_t>(f.size())), 1450, 0);
  EXPECT_EQ(o.ol_flags, 0U);

  InnerSpec u;
  u.udp = true;
  u.ipv6 = true;
  u.partial = true;
  u.payload = 14000;
  f = test::inner_frame(u);
  o = inner_offload(parse_inner(f.data(), static_cast<std::uint32_t>(f.size())), 1450, 1400);
  EXPECT_EQ(o.ol_flags, RTE_MBUF_F_TX_UDP_SEG | RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_IPV6);
  EXPECT_EQ(o.tso_segsz, 1400);
  EXPECT_EQ(o.l4_len, 8);
}

// ---- frame mode

TEST(UdpWire, WriteOuterBuildsWhatParseOuterReads) {
  const Bytes payload = test::vxlan_payload(test::inner_frame(InnerSpec{}));
  Bytes f(42 + payload.size());
  const std::array<std::uint8_t, 6> mac{0x02, 1, 2, 3, 4, 5};
  ASSERT_EQ(write_outer(f.data(), mac, v4(0xac1f0002), 50123, v4(0xac1f0001), 4789,
                        static_cast<std::uint32_t>(payload.size())),
            42U);
  std::memcpy(f.data() + 42, payload.data(), payload.size());
  EXPECT_TRUE(test::ipv4_header_ok(f.data() + 14));
  EXPECT_EQ(f[14 + 6] & 0x40, 0x40);  // DF
  EXPECT_EQ(std::memcmp(f.data(), mac.data(), 6), 0);
  EXPECT_EQ(test::get32(f.data() + 26), 0xac1f0002U);  // source: the peer
  EXPECT_EQ(test::get32(f.data() + 30), 0xac1f0001U);  // destination: us
  auto o = parse_outer(f.data(), static_cast<std::uint32_t>(f.size()), static_cast<std::uint32_t>(f.size()));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->src_port, 50123);
  EXPECT_EQ(o->payload_size, payload.size());

  Bytes f6(62 + payload.size());
  ASSERT_EQ(
      write_outer(f6.data(), mac, v6_last(2), 50123, v6_last(1), 4789, static_cast<std::uint32_t>(payload.size())),
      62U);
  o = parse_outer(f6.data(), static_cast<std::uint32_t>(f6.size()), static_cast<std::uint32_t>(f6.size()));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->family, Family::kIPv6);
  EXPECT_EQ(o->dst[15], 1);

  // The received datagram's TOS / traffic class (ECN for decapsulation).
  write_outer(f.data(), mac, v4(0xac1f0002), 50123, v4(0xac1f0001), 4789, static_cast<std::uint32_t>(payload.size()),
              0xbb);
  EXPECT_EQ(f[15], 0xbb);
  EXPECT_TRUE(test::ipv4_header_ok(f.data() + 14));
  write_outer(f6.data(), mac, v6_last(2), 50123, v6_last(1), 4789, static_cast<std::uint32_t>(payload.size()), 0xbb);
  o = parse_outer(f6.data(), static_cast<std::uint32_t>(f6.size()), static_cast<std::uint32_t>(f6.size()));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->tos, 0xbb);
}

void expect_segments_like_the_kernel(const InnerSpec& spec, std::uint32_t mss) {
  SCOPED_TRACE(::testing::Message() << "ipv6=" << spec.ipv6 << " udp=" << spec.udp << " payload=" << spec.payload);
  const Bytes f = test::inner_frame(spec);
  const Inner in = parse_inner(f.data(), static_cast<std::uint32_t>(f.size()));
  ASSERT_TRUE(in.ip);
  const std::uint32_t n = segment_count(in, mss);
  ASSERT_EQ(n, (spec.payload + mss - 1) / mss);
  Bytes joined;
  for (std::uint32_t i = 0; i < n; ++i) {
    Bytes seg(in.headers() + mss);
    const std::uint32_t size = write_segment(f.data(), in, mss, i, seg.data());
    const bool last = i + 1 == n;
    ASSERT_EQ(size, in.headers() + (last ? spec.payload - i * mss : mss));
    seg.resize(size);
    const std::uint8_t* l3 = seg.data() + in.l2_len;
    const std::uint8_t* l4 = l3 + in.l3_len;
    EXPECT_TRUE(test::l4_checksum_ok(seg.data(), in.l2_len)) << "segment " << i;
    if (spec.ipv6) {
      EXPECT_EQ(test::get16(l3 + 4), size - in.l2_len - 40);
    } else {
      EXPECT_EQ(test::get16(l3 + 2), size - in.l2_len);
      EXPECT_EQ(test::get16(l3 + 4), (spec.ip_id + i) & 0xffff);
      EXPECT_TRUE(test::ipv4_header_ok(l3));
    }
    if (spec.udp) {
      EXPECT_EQ(test::get16(l4 + 4), size - in.l2_len - in.l3_len);
    } else {
      EXPECT_EQ(test::get32(l4 + 4), spec.seq + i * mss);
      EXPECT_EQ((l4[13] & 0x80) != 0, i == 0 && (spec.tcp_flags & 0x80) != 0) << "CWR, segment " << i;
      EXPECT_EQ((l4[13] & 0x09) != 0, last && (spec.tcp_flags & 0x09) != 0) << "PSH/FIN, segment " << i;
      EXPECT_EQ(l4[13] & 0x10, spec.tcp_flags & 0x10) << "ACK, segment " << i;
    }
    joined.insert(joined.end(), seg.begin() + in.headers(), seg.end());
  }
  EXPECT_TRUE(std::equal(joined.begin(), joined.end(), f.begin() + in.headers(), f.end()));
}

TEST(UdpWire, SegmentsSuperFramesTheWayTheKernelDoes) {
  InnerSpec tcp;
  tcp.partial = true;
  tcp.payload = 13980 + 5;                    // 10 full segments and a short one
  tcp.tcp_flags = 0x80 | 0x10 | 0x08 | 0x01;  // CWR ACK PSH FIN
  tcp.ip_id = 65530;                          // the id wraps
  tcp.seq = 0xfffff000;                       // so does the sequence number
  expect_segments_like_the_kernel(tcp, 1398);
  tcp.ipv6 = true;
  expect_segments_like_the_kernel(tcp, 1378);
  tcp.vlan = true;
  tcp.payload = 1378 * 3;
  expect_segments_like_the_kernel(tcp, 1378);
  InnerSpec udp;
  udp.udp = true;
  udp.partial = true;
  udp.payload = 14000;
  expect_segments_like_the_kernel(udp, 1400);
  udp.ipv6 = true;
  udp.payload = 5000;
  expect_segments_like_the_kernel(udp, 1400);
}

TEST(UdpWire, CompletesPartialChecksums) {
  for (const bool ipv6 : {false, true}) {
    for (const bool udp : {false, true}) {
      InnerSpec s;
      s.ipv6 = ipv6;
      s.udp = udp;
      s.partial = true;
      s.payload = 1001;  // odd: the last byte is padded for the sum
      Bytes f = test::inner_frame(s);
      ASSERT_FALSE(test::l4_checksum_ok(f.data(), 14));
      const Inner in = parse_inner(f.data(), static_cast<std::uint32_t>(f.size()));
      ASSERT_TRUE(in.partial_checksum);
      complete_l4_checksum(f.data(), in);
      EXPECT_TRUE(test::l4_checksum_ok(f.data(), 14)) << "ipv6=" << ipv6 << " udp=" << udp;
      s.partial = false;
      EXPECT_EQ(f, test::inner_frame(s));  // byte for byte what a complete sender writes
    }
  }
}

}  // namespace
}  // namespace ferry::dataplane::app::udp_wire
