// The 24-byte virtio-net header with UDP tunnel fields (struct
// virtio_net_hdr_v1_hash_tunnel, Linux >= 6.17) that a tap with
// TUNSETVNETHDRSZ 24 and TUN_F_UDP_TUNNEL_GSO reads and writes, and the rules
// that turn it into the 10-byte header of the INNER frame (vnet_hdr.h) and
// back. Pure functions on plain values: unit-tested byte for byte.
//
// Layout (little-endian, as virtio 1.0 on any host):
//   0 flags          1 gso_type      2 hdr_len      4 gso_size
//   6 csum_start     8 csum_offset  10 num_buffers  12 hash_value (4)
//  16 hash_report   18 padding      20 outer_th_offset  22 inner_nh_offset
// Offsets count from the outer Ethernet header.
//
// Encapsulated (send, tunnel_tx_header): an inner GSO type gets
// UDP_TUNNEL_IPV4 (0x20; IPV6 0x40) added, hdr_len and csum_start move by the
// outer header size (50 over IPv4), outer_th_offset is the outer UDP header
// (34) and inner_nh_offset the inner IP header (64). NEEDS_CSUM is mandatory
// for a tunnel GSO frame (the kernel refuses it otherwise). A frame without
// GSO keeps only its checksum request, moved by the outer size.
//
// Decapsulated (receive, tunnel_rx_decap), as a tap hands frames over:
//   - tunnel GSO: gso_type loses the tunnel bits, csum_start and hdr_len
//     lose the outer size, UDP_TUNNEL_CSUM (flag 8: the outer UDP checksum
//     is partial too) is cleared;
//   - no GSO, NEEDS_CSUM at the OUTER UDP header (a kernel VTEP's local
//     checksum offload: the inner checksum is complete): no request at all;
//   - no GSO, NEEDS_CSUM inside the inner frame: moved by the outer size;
//   - DATA_VALID is dropped (it may speak of the outer checksum only);
//   - a plain (non-tunnel) GSO type describes the outer datagram, which the
//     tap never hands over with our offloads: refused.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "dataplane/app/vnet_hdr.h"

namespace ferry::dataplane::app::tunnel_hdr {

inline constexpr std::uint32_t kSize = 24;

// gso_type bits and flag beyond the 6.1 uapi headers.
inline constexpr std::uint8_t kGsoUdpTunnelIpv4 = 0x20;  // VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV4
inline constexpr std::uint8_t kGsoUdpTunnelIpv6 = 0x40;  // VIRTIO_NET_HDR_GSO_UDP_TUNNEL_IPV6
inline constexpr std::uint8_t kGsoUdpTunnelMask = kGsoUdpTunnelIpv4 | kGsoUdpTunnelIpv6;
inline constexpr std::uint8_t kFlagUdpTunnelCsum = 8;  // VIRTIO_NET_HDR_F_UDP_TUNNEL_CSUM

// TUNSETOFFLOAD bits (include/uapi/linux/if_tun.h).
inline constexpr unsigned kTunFCsum = 0x01;
inline constexpr unsigned kTunFTso4 = 0x02;
inline constexpr unsigned kTunFTso6 = 0x04;
inline constexpr unsigned kTunFUdpTunnelGso = 0x080;      // Linux >= 6.17
inline constexpr unsigned kTunFUdpTunnelGsoCsum = 0x100;  // Linux >= 6.17
// What the tap uplink asks for: plain TSO is required for the tunnel bits to
// be accepted at all; the _CSUM bit lets a kernel VTEP's super-frames (which
// carry a partial outer checksum) reach the tap whole.
inline constexpr unsigned kTapOffloads = kTunFCsum | kTunFTso4 | kTunFTso6 | kTunFUdpTunnelGso | kTunFUdpTunnelGsoCsum;

struct Header {
  std::uint8_t flags = 0;
  std::uint8_t gso_type = 0;
  std::uint16_t hdr_len = 0;
  std::uint16_t gso_size = 0;
  std::uint16_t csum_start = 0;
  std::uint16_t csum_offset = 0;
  std::uint16_t num_buffers = 0;
  std::uint32_t hash_value = 0;
  std::uint16_t hash_report = 0;
  std::uint16_t outer_th_offset = 0;
  std::uint16_t inner_nh_offset = 0;
  bool operator==(const Header&) const = default;
};

void encode(const Header& h, std::uint8_t* out);  // kSize bytes
Header decode(const std::uint8_t* in);            // kSize bytes

// Where the outer headers end in an encapsulated frame.
struct OuterLayout {
  std::uint16_t udp = 0;    // outer UDP header (14 + IP header)
  std::uint16_t inner = 0;  // inner Ethernet header (udp + 16)
  bool ipv6 = false;
};

// The outer Ethernet/IPv4|IPv6/UDP/VXLAN layout of `frame` (`size` bytes
// readable); nullopt for anything else (ARP, VLAN tags, IPv6 extension
// headers, not UDP, cut).
std::optional<OuterLayout> outer_layout(const std::uint8_t* frame, std::uint32_t size);

// The header for sending an encapsulated frame whose INNER frame has the
// header `inner` (mbuf_to_vnet_hdr's result for the inner frame), its inner
// IP header `inner_l3` bytes into the inner frame.
Header tunnel_tx_header(const VnetHdr& inner, const OuterLayout& outer, std::uint16_t inner_l3);

// What a received header says about the inner frame.
struct RxDecap {
  VnetHdr inner;            // the inner frame's header (offsets from the inner Ethernet header)
  bool tunnel_gso = false;  // the frame is a tunnel super-frame
  bool outer_only = false;  // NEEDS_CSUM at the outer UDP header: inner complete, request cleared
  bool refused = false;     // not something the inner frame can be given (see the top)
};
RxDecap tunnel_rx_decap(const Header& h, const OuterLayout& outer);

// The start-up decision: TUNSETOFFLOAD's result with kTapOffloads. EINVAL is
// a kernel without tunnel GSO on taps (< 6.17): fall back to the UDP uplink.
enum class Probe : std::uint8_t { kSupported, kUnsupported, kError };
Probe probe_result(int rc, int err);

}  // namespace ferry::dataplane::app::tunnel_hdr
