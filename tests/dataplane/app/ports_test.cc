// Buffer geometry for an underlay MTU: mbuf data room, af_packet ring slots
// and blocks, pool size, af_xdp eligibility.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include "dataplane/app/ports.h"

namespace ferry::dataplane::app {
namespace {

TEST(FrameSizes, StandardMtuKeepsThePmdDefaults) {
  for (std::uint32_t mtu : {576U, 1500U}) {
    const FrameSizes s = frame_sizes(mtu);
    EXPECT_EQ(s.mtu, mtu);
    EXPECT_EQ(s.af_packet_frame_size, 2048U);
    EXPECT_EQ(s.af_packet_block_size, 4096U);
    EXPECT_EQ(s.af_packet_frame_count, 4096U);
    EXPECT_EQ(s.mbuf_data_room, RTE_MBUF_DEFAULT_BUF_SIZE);
    EXPECT_EQ(s.mbufs, 32767U);
    EXPECT_TRUE(s.af_xdp_capable);
    EXPECT_FALSE(s.jumbo());
  }
}

TEST(FrameSizes, JumboMtu9000) {
  const FrameSizes s = frame_sizes(9000);
  EXPECT_EQ(s.max_frame, 9018U);
  // 66 bytes of tpacket header in front of the frame, rounded to 1 KiB.
  EXPECT_EQ(s.af_packet_frame_size, 9216U);
  // 4 slots make 9 pages exactly.
  EXPECT_EQ(s.af_packet_block_size, 36864U);
  EXPECT_EQ(s.af_packet_frame_count, 1024U);
  EXPECT_EQ(s.mbuf_data_room, RTE_PKTMBUF_HEADROOM + 9216 - 32);
  EXPECT_EQ(s.mbufs, 8191U);
  EXPECT_FALSE(s.af_xdp_capable);
  EXPECT_TRUE(s.jumbo());
}

// Invariants at every MTU: what the kernel and the af_packet PMD demand.
TEST(FrameSizes, EveryMtuMeetsTheKernelAndPmdRules) {
  for (std::uint32_t mtu = kMinUplinkMtu; mtu <= kMaxUplinkMtu; mtu += 37) {
    const FrameSizes s = frame_sizes(mtu);
    SCOPED_TRACE(mtu);
    // The largest frame fits a slot after the kernel's 66-byte offset.
    EXPECT_GE(s.af_packet_frame_size, 66 + s.max_frame);
    EXPECT_EQ(s.af_packet_frame_size % 16, 0U) << "TPACKET_ALIGNMENT";
    // Block: whole pages and whole slots with nothing left over (the PMD
    // finds slot i at i * framesz); the ring is whole blocks.
    EXPECT_EQ(s.af_packet_block_size % 4096, 0U);
    EXPECT_EQ(s.af_packet_block_size % s.af_packet_frame_size, 0U);
    EXPECT_LE(s.af_packet_block_size, 4 * s.af_packet_frame_size);
    EXPECT_EQ(s.af_packet_frame_count % (s.af_packet_block_size / s.af_packet_frame_size), 0U);
    // The PMD's RX check: slot data (slot - 32) within an mbuf's data room.
    EXPECT_LE(s.af_packet_frame_size - 32, s.mbuf_data_room - RTE_PKTMBUF_HEADROOM);
    EXPECT_GE(s.mbuf_data_room - RTE_PKTMBUF_HEADROOM, s.max_frame);
    // Pool: 2^n - 1 mbufs, at least 8191, about 80 MB at most beyond that.
    EXPECT_EQ((s.mbufs + 1) & s.mbufs, 0U);
    EXPECT_GE(s.mbufs, 8191U);
    EXPECT_TRUE(s.mbufs == 8191U || std::uint64_t{s.mbufs} * s.mbuf_data_room <= (80ULL << 20));
    EXPECT_EQ(s.af_xdp_capable, mtu <= kAfXdpMaxMtu);
  }
}

Config uplink(const std::string& name, UplinkKind kind, std::uint32_t mtu) {
  Config c;
  c.uplink = name;
  c.uplink_kind = kind;
  c.uplink_mtu = mtu;
  return c;
}

TEST(UnderlayMtu, PciDefaultsTo1500OrTakesTheFlag) {
  EXPECT_EQ(*underlay_mtu(uplink("0000:3b:00.0", UplinkKind::kPci, 0)), 1500U);
  EXPECT_EQ(*underlay_mtu(uplink("0000:3b:00.0", UplinkKind::kPci, 9000)), 9000U);
}

TEST(UnderlayMtu, InterfaceMtuIsReadAndChecked) {
  // lo (65536) is above what the data plane's buffers handle, flag or not.
  for (std::uint32_t flag : {0U, 1500U}) {
    auto mtu = underlay_mtu(uplink("lo", UplinkKind::kInterface, flag));
    ASSERT_FALSE(mtu);
    EXPECT_NE(mtu.error().message.find("above 9216"), std::string::npos) << mtu.error().message;
  }
  auto missing = underlay_mtu(uplink("nosuchif0", UplinkKind::kInterface, 0));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cannot read its MTU"), std::string::npos) << missing.error().message;
  EXPECT_EQ(interface_mtu("lo"), 65536U);
}

}  // namespace
}  // namespace ferry::dataplane::app
