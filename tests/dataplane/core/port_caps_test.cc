// What a frame's offload flags need from its port (port_caps.h).
#include "dataplane/core/port_caps.h"

#include <gtest/gtest.h>

namespace ferry::dataplane {
namespace {

constexpr std::uint64_t kV4 = RTE_MBUF_F_TX_IPV4;
constexpr std::uint64_t kTunnel = RTE_MBUF_F_TX_TUNNEL_VXLAN | RTE_MBUF_F_TX_OUTER_IPV4;

TEST(PortCaps, WhatEachFrameNeeds) {
  struct Case {
    const char* what;
    std::uint64_t flags;
    PortTxCaps need;
  };
  const Case cases[] = {
      {"nothing asked", kV4, 0},
      {"RX flags only", RTE_MBUF_F_RX_L4_CKSUM_GOOD | RTE_MBUF_F_RX_IP_CKSUM_GOOD, 0},
      {"tunnel flags only (complete VXLAN frame)", kTunnel | kV4, 0},
      {"TCP checksum", kV4 | RTE_MBUF_F_TX_TCP_CKSUM, kTxCapL4Csum},
      {"UDP checksum", RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM, kTxCapL4Csum},
      {"IPv4 header checksum", kV4 | RTE_MBUF_F_TX_IP_CKSUM, kTxCapL4Csum},
      {"TCP super-frame", kV4 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG, kTxCapTso},
      {"UDP super-frame", kV4 | RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_UDP_SEG, kTxCapUso},
      {"VXLAN TCP checksum", kTunnel | kV4 | RTE_MBUF_F_TX_TCP_CKSUM, kTxCapTunnelL4Csum},
      {"VXLAN outer UDP checksum", kTunnel | kV4 | RTE_MBUF_F_TX_OUTER_UDP_CKSUM, kTxCapTunnelL4Csum},
      {"VXLAN TCP super-frame", kTunnel | kV4 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG, kTxCapTunnelTso},
      {"VXLAN UDP super-frame", kTunnel | kV4 | RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_UDP_SEG, kTxCapTunnelUso},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_EQ(tx_caps_needed(c.flags), c.need);
    EXPECT_TRUE(tx_caps_allow(kTxCapAll, c.flags));
    EXPECT_EQ(tx_caps_allow(0, c.flags), c.need == 0);
    // Every other single capability is not enough.
    for (PortTxCaps bit = 1; bit <= kTxCapAll; bit <<= 1) {
      if (c.need != 0) {
        EXPECT_EQ(tx_caps_allow(bit, c.flags), bit == c.need) << bit;
      }
    }
  }
}

}  // namespace
}  // namespace ferry::dataplane
