// The virtio-net header (struct virtio_net_hdr, 10 bytes, host byte order:
// what AF_PACKET reads and writes with PACKET_VNET_HDR) to and from DPDK's
// mbuf offload metadata, Ferry's one representation of partial checksums
// and super-frames (docs/dataplane.md, "vnet endpoint ports").
//
// Receive (kernel -> mbuf) takes a header exactly as the kernel's
// virtio_net_hdr_to_skb() would, and checks it against the frame's real
// headers:
//   NEEDS_CSUM    csum_start must be the L4 header the frame has (after the
//                 Ethernet header, VLAN tags, IPv4 options or IPv6 extension
//                 headers) and csum_offset that protocol's checksum field
//                 (TCP 16, UDP 6): RTE_MBUF_F_TX_IPV4/IPV6 +
//                 TX_TCP_CKSUM/TX_UDP_CKSUM, l2_len, l3_len, l4_len. The
//                 checksum field holds the pseudo-header sum including the
//                 L4 length (the kernel's convention, and DPDK vhost's).
//   GSO_TCPV4/6   (+ECN) TCP over IPv4/IPv6: also TX_TCP_SEG, tso_segsz =
//                 gso_size. Without NEEDS_CSUM the kernel makes the
//                 checksum partial itself; so does Ferry. A frame whose
//                 payload does not exceed gso_size is not a super-frame (the
//                 kernel's rule): it keeps only the checksum request.
//   GSO_UDP_L4    UDP over IPv4/IPv6, NEEDS_CSUM required, at most 64
//                 segments (UDP_MAX_SEGMENTS): TX_UDP_SEG, tso_segsz.
//   DATA_VALID    (without NEEDS_CSUM) RTE_MBUF_F_RX_L4_CKSUM_GOOD.
// Anything else (legacy UFO, ECN alone or on UDP, gso_size 0, offsets that
// are not the frame's, a GSO type that is not the frame's protocol) is a
// drop with its reason (FERRY_VNET_DROPS).
//
// Send (mbuf -> kernel) builds what AF_PACKET honours: NEEDS_CSUM only (it
// ignores DATA_VALID), never on a frame that asked for no checksum (its
// checksum is complete; marking it would make a forwarding container emit a
// wrong one). A checksum request gets csum_start at the L4 header,
// csum_offset 16 (TCP) / 6 (UDP), and the pseudo-header sum is written into
// the checksum field (whatever convention the producer used; not behind an
// IPv6 routing header, whose final destination the producer knows). A super-frame
// (TX_TCP_SEG / TX_UDP_SEG) also gets its GSO type (ECN when CWR is set, as
// the kernel's TCP does), gso_size and hdr_len; its IP length fields must
// match the frame and an IPv4 total length cannot exceed 65 535.
//
// Pure functions over mbufs: no allocation, no system calls. The frame's
// headers (through L4) must lie in its first segment.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "dataplane/core/counter_list.h"

struct rte_mbuf;

namespace ferry::dataplane::app {

// X(Drop, name, help) (counter_list.h): why a frame was dropped at a vnet
// port's header conversion.
#define FERRY_VNET_DROPS(X)                                                                                            \
  X(Drop, vnet_bad_gso_type,                                                                                           \
    "virtio-net header with a GSO type the kernel refuses or Ferry cannot carry (unknown, UFO, "                       \
    "ECN alone or on UDP)")                                                                                            \
  X(Drop, vnet_bad_gso_size, "virtio-net GSO header with gso_size 0, or a UDP super-frame of more than 64 segments")   \
  X(Drop, vnet_bad_headers, "checksum or GSO request on a frame that is not TCP/UDP over IPv4/IPv6 with sane headers") \
  X(Drop, vnet_bad_csum_start, "NEEDS_CSUM whose csum_start is not the frame's L4 header")                             \
  X(Drop, vnet_bad_csum_offset, "NEEDS_CSUM whose csum_offset is not its protocol's checksum field (TCP 16, UDP 6)")   \
  X(Drop, vnet_gso_mismatch,                                                                                           \
    "GSO type that is not the frame's (TCPV4 on IPv6, UDP_L4 on TCP, UDP_L4 without NEEDS_CSUM)")                      \
  X(Drop, vnet_truncated, "frame larger than the receive buffers (cut by the kernel)")                                 \
  X(Drop, vnet_rx_error, "frames the kernel failed to hand over (recvmmsg error)")                                     \
  X(Drop, vnet_tx_bad_offload, "frame to send whose offload flags disagree with its headers or lengths")               \
  X(Drop, vnet_tx_too_big, "super-frame to send whose IP length would exceed 65 535 or disagrees with the frame")      \
  X(Drop, vnet_tx_chain_too_long, "frame to send made of more segments than one send takes")                           \
  X(Drop, vnet_tx_error, "frames the kernel refused to send (sendmmsg error other than a full socket)")

enum class VnetDrop : std::uint8_t {
  FERRY_VNET_DROPS(FERRY_COUNTER_ENUM)  //
  kNone,                                // not a drop
};
inline constexpr auto kVnetDropInfo = std::to_array<CounterInfo>({FERRY_VNET_DROPS(FERRY_COUNTER_INFO)});
inline constexpr std::size_t kVnetDropCount = kVnetDropInfo.size();
static_assert(kVnetDropCount == static_cast<std::size_t>(VnetDrop::kNone));
using VnetDropBlock = CounterBlock<VnetDrop, kVnetDropCount>;

// struct virtio_net_hdr as AF_PACKET uses it (host byte order).
struct VnetHdr {
  std::uint8_t flags = 0;
  std::uint8_t gso_type = 0;
  std::uint16_t hdr_len = 0;
  std::uint16_t gso_size = 0;
  std::uint16_t csum_start = 0;
  std::uint16_t csum_offset = 0;
  bool operator==(const VnetHdr&) const = default;
};
static_assert(sizeof(VnetHdr) == 10);

inline constexpr std::uint8_t kVnetNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
inline constexpr std::uint8_t kVnetDataValid = 2;  // VIRTIO_NET_HDR_F_DATA_VALID
inline constexpr std::uint8_t kVnetGsoNone = 0;
inline constexpr std::uint8_t kVnetGsoTcpV4 = 1;
inline constexpr std::uint8_t kVnetGsoUdp = 3;  // legacy UFO (IP fragmentation): refused
inline constexpr std::uint8_t kVnetGsoTcpV6 = 4;
inline constexpr std::uint8_t kVnetGsoUdpL4 = 5;  // not in the 6.1 uapi headers
inline constexpr std::uint8_t kVnetGsoEcn = 0x80;
inline constexpr std::uint16_t kUdpMaxSegments = 64;  // the kernel's UDP_MAX_SEGMENTS

// Where a frame's headers are (offsets from its first byte), as far as
// checksum and GSO requests care.
struct FrameLayout {
  std::uint16_t l3 = 0;      // IP header (after Ethernet and up to two VLAN tags)
  std::uint16_t l4 = 0;      // TCP/UDP header (after IPv4 options / IPv6 extension headers)
  std::uint16_t l4_len = 0;  // TCP: data offset * 4; UDP: 8
  std::uint8_t proto = 0;    // 6 or 17
  bool ipv6 = false;
  bool ipv6_routing = false;  // a routing header (the pseudo-header's destination may be its last address)
  std::uint32_t ip_end = 0;   // where the IP length fields say the datagram ends
};

// Parses Ethernet / VLAN / IPv4 or IPv6 (hop-by-hop, routing, destination
// options) / TCP or UDP in the first `size` bytes. False when the frame is not
// TCP/UDP over IP, is an IP fragment, or its headers are cut or malformed.
bool parse_frame_layout(const std::uint8_t* frame, std::uint32_t size, std::uint32_t frame_size, FrameLayout& out);

// Applies a received header to `m` (the frame, its headers in the first
// segment). Returns VnetDrop::kNone, or why the frame must be dropped (its
// metadata is then unspecified).
VnetDrop vnet_hdr_to_mbuf(const VnetHdr& hdr, rte_mbuf* m);

// Builds the header to send `m` with, writing the pseudo-header sum into a
// frame that asks for a checksum (its first segment must be writable).
// Returns VnetDrop::kNone, or why the frame cannot be sent.
VnetDrop mbuf_to_vnet_hdr(rte_mbuf* m, VnetHdr& hdr);

// The folded pseudo-header sum, in memory order (store it with memcpy), for
// the frame's L4 header: addresses, protocol and `l4_size` (RFC 768/793,
// RFC 8200 §8.1). `ip` is the IPv4 header or the IPv6 fixed header.
std::uint16_t pseudo_header_sum(const std::uint8_t* ip, bool ipv6, std::uint8_t proto, std::uint32_t l4_size);

}  // namespace ferry::dataplane::app
