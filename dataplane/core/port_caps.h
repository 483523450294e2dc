// What a port's transmit path takes of a frame's offload requests (DPDK mbuf
// metadata, docs/dataplane-offload.md): super-frames whole, partial
// checksums, with or without VXLAN around them. The pipeline reads a port's
// capabilities before it queues a frame there; a frame that asks for more
// than the port takes is finished in software first (segmented, or its
// checksums completed: docs/dataplane-pipeline.md, "Super-frames").
//
// The app sets them when it adds a port (Pipeline::set_port_tx_caps): a vnet
// endpoint takes TCP and UDP super-frames and partial checksums; a DPDK
// ethdev what its tx_offload_capa offers; af_packet, af_xdp and the
// kernel-UDP uplink take nothing, so every frame reaches them complete.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace ferry::dataplane {

using PortTxCaps = std::uint32_t;

// PortTxCaps bits.
inline constexpr PortTxCaps kTxCapTso = 1U << 0;           // TCP super-frames (TX_TCP_SEG), no tunnel
inline constexpr PortTxCaps kTxCapUso = 1U << 1;           // UDP super-frames (TX_UDP_SEG), no tunnel
inline constexpr PortTxCaps kTxCapL4Csum = 1U << 2;        // partial TCP/UDP checksums, no tunnel
inline constexpr PortTxCaps kTxCapTunnelTso = 1U << 3;     // VXLAN-encapsulated TCP super-frames
inline constexpr PortTxCaps kTxCapTunnelUso = 1U << 4;     // VXLAN-encapsulated UDP super-frames
inline constexpr PortTxCaps kTxCapTunnelL4Csum = 1U << 5;  // VXLAN frames with a partial inner checksum
inline constexpr PortTxCaps kTxCapAll = (1U << 6) - 1;

// Every flag that asks a port (or the software in front of it) to do work.
inline constexpr std::uint64_t kTxRequestFlags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_UDP_SEG | RTE_MBUF_F_TX_L4_MASK |
                                                 RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_OUTER_IP_CKSUM |
                                                 RTE_MBUF_F_TX_OUTER_UDP_CKSUM;

// The capability a frame with these flags needs from its port: one bit
// (segmentation implies the checksums that come with it), or 0 when the
// frame asks for nothing. An IPv4 header checksum request counts as a
// checksum request.
[[nodiscard]] constexpr PortTxCaps tx_caps_needed(std::uint64_t ol_flags) {
  if ((ol_flags & kTxRequestFlags) == 0) return 0;
  const bool tunnel = (ol_flags & RTE_MBUF_F_TX_TUNNEL_MASK) != 0;
  if ((ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0) return tunnel ? kTxCapTunnelTso : kTxCapTso;
  if ((ol_flags & RTE_MBUF_F_TX_UDP_SEG) != 0) return tunnel ? kTxCapTunnelUso : kTxCapUso;
  return tunnel ? kTxCapTunnelL4Csum : kTxCapL4Csum;
}

// True when a port with `caps` takes a frame with these flags as it is.
[[nodiscard]] constexpr bool tx_caps_allow(PortTxCaps caps, std::uint64_t ol_flags) {
  const PortTxCaps need = tx_caps_needed(ol_flags);
  return (need & ~caps) == 0;
}

}  // namespace ferry::dataplane
