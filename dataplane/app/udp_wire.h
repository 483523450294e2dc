// The byte-level rules of the kernel-UDP uplink (udp_uplink.h), kept apart
// from its sockets so each one is unit-tested on plain buffers:
//
// - TX: the outer Ethernet/IP/UDP header the pipeline built tells where a
//   VXLAN payload goes (parse_outer); consecutive datagrams of one size share
//   a UDP_SEGMENT send within the kernel's limits (GsoGroup).
// - RX: a received buffer is one datagram, a UDP_GRO batch of datagrams, or
//   ONE datagram carrying a Linux peer's inner super-frame (classify_rx); the
//   inner frame's headers give the DPDK offload metadata it travels with
//   (parse_inner, inner_offload).
// - Frame mode (today's pipeline decapsulates whole frames): the outer header
//   decapsulation expects (write_outer), inner super-frames cut into
//   segments the way the kernel's GSO does (write_segment), partial inner
//   checksums completed (complete_l4_checksum).
//
// Everything here is pure: no sockets, no mbufs, no allocation.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "common/ip_address.h"

namespace ferry::dataplane::app::udp_wire {

inline constexpr std::uint32_t kEthSize = 14;
inline constexpr std::uint32_t kVxlanSize = 8;
inline constexpr std::uint32_t kUdpSize = 8;
// Outer Ethernet + IP + UDP: what TX strips, what frame mode writes.
inline constexpr std::uint32_t kOuterSize4 = kEthSize + 20 + kUdpSize;  // 42
inline constexpr std::uint32_t kOuterSize6 = kEthSize + 40 + kUdpSize;  // 62
// VXLAN's cost on the underlay MTU: endpoint MTU = underlay MTU - this.
inline constexpr std::uint32_t kOverhead4 = 50;
inline constexpr std::uint32_t kOverhead6 = 70;
// The largest UDP payload one send may carry (IPv4 total length 65535; the
// IPv6 payload length field without jumbograms).
inline constexpr std::uint32_t kMaxSend4 = 65535 - 20 - kUdpSize;  // 65507
inline constexpr std::uint32_t kMaxSend6 = 65535 - kUdpSize;       // 65527
// UDP_MAX_SEGMENTS of Linux 6.1 (later kernels allow more): a UDP_SEGMENT
// send with more segments fails with EINVAL.
inline constexpr std::uint32_t kMaxGsoSegments = 64;

[[nodiscard]] constexpr std::uint32_t outer_size(Family f) { return f == Family::kIPv4 ? kOuterSize4 : kOuterSize6; }
[[nodiscard]] constexpr std::uint32_t overhead(Family f) { return f == Family::kIPv4 ? kOverhead4 : kOverhead6; }
// The largest datagram payload (VXLAN header + inner frame) that fits the
// underlay MTU unfragmented: MTU - IP - UDP header.
[[nodiscard]] constexpr std::uint32_t max_datagram(Family f, std::uint32_t mtu) {
  return mtu - (f == Family::kIPv4 ? 20 : 40) - kUdpSize;
}
// The endpoint (inner IP) MTU the underlay MTU leaves.
[[nodiscard]] constexpr std::uint32_t inner_mtu(Family f, std::uint32_t mtu) { return mtu - overhead(f); }
[[nodiscard]] constexpr std::uint32_t max_send(Family f) { return f == Family::kIPv4 ? kMaxSend4 : kMaxSend6; }

// ---------------------------------------------------------------------------
// TX

// Where a frame built by the pipeline goes: the outer header's destination,
// ports and TOS / traffic class, and what to strip.
struct Outer {
  Family family = Family::kIPv4;
  std::array<std::uint8_t, 16> dst{};  // IPv4 in the first 4 bytes, wire order
  std::uint16_t src_port = 0;          // host order
  std::uint16_t dst_port = 0;
  std::uint8_t tos = 0;            // IPv4 TOS or IPv6 traffic class (DSCP + ECN)
  std::uint32_t header_size = 0;   // Ethernet + IP + UDP: bytes before the VXLAN header
  std::uint32_t payload_size = 0;  // UDP length - 8: VXLAN header + inner frame
};

// Parses the outer Ethernet/IPv4|IPv6/UDP header of a frame of `frame_size`
// bytes whose first `head_size` bytes are at `head`. nullopt for anything
// else (ARP, VLAN tags, IPv4 fragments or options, IPv6 extension headers, a
// UDP length that is not the frame's).
std::optional<Outer> parse_outer(const std::uint8_t* head, std::uint32_t head_size, std::uint32_t frame_size);

// Datagrams that leave in one UDP_SEGMENT send: `count` datagrams, all
// `segment_size` bytes but possibly a shorter last one, `bytes` in all.
struct GsoGroup {
  std::uint32_t segment_size = 0;
  std::uint32_t count = 0;
  std::uint32_t bytes = 0;
  bool closed = false;  // a shorter datagram ended it
};

// Adds a datagram of `size` bytes to `group` when the kernel takes it in the
// same send: the same size as the others, or one shorter last one; at most
// `max_bytes` (max_send()) and kMaxGsoSegments in all. False: start a new
// group. An empty group takes any size.
bool gso_append(GsoGroup& group, std::uint32_t size, std::uint32_t max_bytes);

// ---------------------------------------------------------------------------
// RX

enum class RxKind : std::uint8_t {
  kSingle,      // one datagram
  kBatch,       // a UDP_GRO batch: datagrams of `segment_size`, the last maybe shorter
  kSuperframe,  // ONE datagram whose inner frame is a UDP super-frame of the peer's
                // (the GRO cmsg then gives the INNER segment size, not ours)
};

struct RxSplit {
  RxKind kind = RxKind::kSingle;
  std::uint32_t segment_size = 0;  // kBatch: datagram size; kSuperframe: inner gso_size
};

// What a received buffer of `size` bytes (VXLAN payloads) with UDP_GRO
// segment size `gro_size` (0: no cmsg) holds. A Linux VXLAN peer's tunnel
// GSO packet that crossed a veth whole arrives as one datagram: with an inner
// TCP super-frame without a cmsg, with an inner UDP one WITH a cmsg carrying
// the inner gso_size; it is recognised by its inner IP length spanning the
// whole buffer.
RxSplit classify_rx(const std::uint8_t* data, std::uint32_t size, std::uint32_t gro_size);

// The inner frame's layout (after the VXLAN header).
struct Inner {
  bool ip = false;  // IPv4 or IPv6 (one VLAN tag at most); the rest is 0 otherwise
  Family family = Family::kIPv4;
  std::uint8_t l4_proto = 0;      // 6 TCP, 17 UDP, else 0 (IPv4 fragments, IPv6 extension headers too)
  std::uint16_t l2_len = 0;       // 14 or 18
  std::uint16_t l3_len = 0;       // IPv4 IHL * 4, IPv6 40
  std::uint16_t l4_len = 0;       // TCP data offset * 4, UDP 8
  std::uint32_t size = 0;         // l2_len + the IP header's total length (padding excluded)
  bool partial_checksum = false;  // the L4 checksum holds the pseudo-header sum only (virtio NEEDS_CSUM)
  [[nodiscard]] std::uint32_t headers() const { return std::uint32_t{l2_len} + l3_len + l4_len; }
  [[nodiscard]] std::uint32_t l4_payload() const { return size - headers(); }
};

// Parses an inner Ethernet frame of `size` bytes. A frame shorter than its IP
// header says is reported as not IP (it travels, but without metadata).
Inner parse_inner(const std::uint8_t* frame, std::uint32_t size);

// DPDK mbuf offload metadata (docs/SUPERFRAMES conventions), offsets relative
// to the inner frame.
struct Offload {
  std::uint64_t ol_flags = 0;
  std::uint16_t l2_len = 0, l3_len = 0, l4_len = 0, tso_segsz = 0;
};

// The metadata an inner frame travels with. A TCP frame whose payload is
// larger than the endpoint MTU allows (inner_mtu - l3_len - l4_len) is a
// super-frame: TCP_SEG with that MSS (the peer's own gso_size is not on the
// wire; this is the largest its segments could have been). A UDP super-frame
// (`udp_gso` != 0, from classify_rx) gets UDP_SEG with the peer's gso_size.
// A partial L4 checksum gets the checksum flags. Else no flags.
Offload inner_offload(const Inner& inner, std::uint32_t inner_mtu, std::uint32_t udp_gso);

// ---------------------------------------------------------------------------
// Frame mode

// Writes the outer Ethernet + IP + UDP header (outer_size(src.family)
// bytes) today's decapsulation expects in front of a `payload_size`-byte
// VXLAN payload: Ethernet to `dst_mac` (the source MAC is zero), IPv4 with DF,
// TOS `tos` (the received datagram's, for RFC 6040 ECN decapsulation) and
// its checksum, or IPv6 with traffic class `tos`; UDP checksum 0. Returns the
// bytes written.
std::uint32_t write_outer(std::uint8_t* out, const std::array<std::uint8_t, 6>& dst_mac, const IpAddress& src,
                          std::uint16_t src_port, const IpAddress& dst, std::uint16_t dst_port,
                          std::uint32_t payload_size, std::uint8_t tos = 0);

// Segments of `seg_payload` L4 payload bytes an inner super-frame is cut into.
std::uint32_t segment_count(const Inner& inner, std::uint32_t seg_payload);

// Writes segment `index` of the inner TCP or UDP super-frame `frame` to `out`
// (room for inner.headers() + seg_payload bytes) and returns its size, the
// way the kernel's GSO cuts it: IPv4 id + index, lengths, every checksum
// complete; TCP sequence number + index * seg_payload, CWR on the first
// segment only, PSH and FIN on the last only.
std::uint32_t write_segment(const std::uint8_t* frame, const Inner& inner, std::uint32_t seg_payload,
                            std::uint32_t index, std::uint8_t* out);

// Completes a partial L4 checksum in place (inner.partial_checksum).
void complete_l4_checksum(std::uint8_t* frame, const Inner& inner);

}  // namespace ferry::dataplane::app::udp_wire
