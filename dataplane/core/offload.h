// Offload metadata of a frame (DPDK's mbuf conventions, see
// docs/dataplane-offload.md): where its headers are, checked against its
// bytes, and the checksums it asks for, done in software.
//
// What a frame may ask (ol_flags):
//   - L4 checksum: RTE_MBUF_F_TX_TCP_CKSUM or _UDP_CKSUM with _TX_IPV4 or
//     _TX_IPV6; the checksum field holds the pseudo-header sum (NEEDS_CSUM).
//   - IPv4 header checksum: RTE_MBUF_F_TX_IP_CKSUM (with _TX_IPV4).
//   - Segmentation: RTE_MBUF_F_TX_TCP_SEG or _UDP_SEG with tso_segsz.
//   - VXLAN: RTE_MBUF_F_TX_TUNNEL_VXLAN with _TX_OUTER_IPV4 or _OUTER_IPV6,
//     outer_l2_len, outer_l3_len; l2_len then covers outer UDP + VXLAN +
//     inner Ethernet. _TX_OUTER_IP_CKSUM / _TX_OUTER_UDP_CKSUM ask for the
//     outer checksums.
// Without a tunnel flag, the l2_len bytes in front of the IP header are
// opaque: Ethernet, Ethernet + VLAN, or a VXLAN header + inner Ethernet (what
// a kernel UDP socket uplink sends) are all copied verbatim.
#pragma once

#include <cstdint>
#include <optional>

#include "dataplane/core/counters.h"

struct rte_mbuf;

namespace ferry::dataplane {

// Offsets from the first byte of the frame.
struct OffloadLayout {
  std::uint16_t outer_l3 = 0;  // outer IP header (tunnel only)
  std::uint16_t outer_l4 = 0;  // outer UDP header (tunnel only)
  std::uint16_t l3 = 0;        // (inner) IP header
  std::uint16_t l4 = 0;        // (inner) TCP/UDP header
  std::uint16_t headers = 0;   // end of the (inner) L4 header: what each segment repeats
  std::uint32_t payload = 0;   // L4 payload bytes after `headers`
  std::uint8_t l4_proto = 0;   // 6 (TCP), 17 (UDP); 0 when no L4 offload is asked
  bool ipv6 = false;           // (inner) IP version
  bool tunnel = false;         // VXLAN
  bool outer_ipv6 = false;
  // The L4 checksum field holds the pseudo-header sum (an L4 checksum flag
  // was set). A super-frame without one gets the sum made from the
  // addresses, as the kernel does.
  bool partial_csum = false;
};

// Every request flag this module knows (segmentation, checksums, tunnel).
[[nodiscard]] std::uint64_t offload_request_flags();

// True when the frame asks for segmentation or a checksum.
[[nodiscard]] bool has_offload_request(const rte_mbuf* m);

// Reads and checks the offload metadata of `m` against its bytes. The headers
// must already lie in the first mbuf (pull_headers). Returns the drop reason
// when they disagree (gso_bad_header, gso_too_big, gso_unsupported), else
// fills `layout`.
[[nodiscard]] std::optional<Counter> parse_offload_layout(const rte_mbuf* m, OffloadLayout& layout);

// pull_headers() as far as the metadata claim, then parse_offload_layout().
// The frame's bytes stay the same; only where they lie may change.
[[nodiscard]] std::optional<Counter> prepare_offload_layout(rte_mbuf* m, OffloadLayout& layout);

// Makes the first `size` bytes of the chain contiguous in its first mbuf,
// moving bytes forward from the following ones (freeing those emptied).
// False (chain unchanged) when the chain is shorter, or the first mbuf is
// shared or has no room.
bool pull_headers(rte_mbuf* m, std::uint32_t size);

// The header bytes the metadata of `m` claim (outer + inner through L4),
// from the length fields alone; 0 when they claim none.
[[nodiscard]] std::uint32_t claimed_header_size(const rte_mbuf* m);

// Does in place, in software, every checksum `m` asks for (inner L4, inner
// IPv4 header, outer IPv4 header, outer UDP) and clears those requests. Not
// for super-frames (those go through Segmenter). The first mbuf must be
// writable. Returns the L4 bytes summed.
std::uint32_t complete_checksums(rte_mbuf* m, const OffloadLayout& layout);

}  // namespace ferry::dataplane
