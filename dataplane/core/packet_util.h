// PRIVATE to dataplane/core (the pipeline's own files include it; nothing
// outside dataplane/core does): wire constants and the small inline helpers
// every stage of the packet path shares. Loads and stores of unaligned wire
// fields, MACs as 48-bit integers, one's-complement checksum sums.
#pragma once

#include <rte_byteorder.h>

#include <cstdint>
#include <cstring>

#include "dataplane/core/tables.h"

namespace ferry::dataplane::wire {

constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherArp = 0x0806;
constexpr std::uint16_t kEtherIpv6 = 0x86dd;
constexpr std::uint16_t kEtherVlan = 0x8100;
constexpr std::uint16_t kEtherQinQ = 0x88a8;
constexpr std::uint16_t kEtherQinQOld = 0x9100;
constexpr std::uint32_t kEthSize = 14;
constexpr std::uint32_t kVxlanOverhead = 20 + 8 + 8;  // outer IPv4 + UDP + VXLAN, counted against the MTU
constexpr std::uint32_t kArpSize = 28;
constexpr std::uint32_t kIpv6Size = 40;
constexpr std::uint8_t kProtoIcmp = 1;
constexpr std::uint8_t kProtoIcmpv6 = 58;
constexpr std::uint16_t kIpv4DontFragment = 0x4000;  // the flags/offset field with DF alone
// IPv6 extension headers (RFC 8200 §4; AH per RFC 4302).
constexpr std::uint8_t kIpv6HopByHop = 0;
constexpr std::uint8_t kIpv6Routing = 43;
constexpr std::uint8_t kIpv6Fragment = 44;
constexpr std::uint8_t kIpv6Auth = 51;
constexpr std::uint8_t kIpv6DestOpts = 60;
// ICMPv6 Neighbor Discovery (RFC 4861): types 133..137 and, per type, the
// fixed part's size (where the options start, and the least valid length).
constexpr std::uint8_t kNdFirst = 133;  // Router Solicitation
constexpr std::uint8_t kNdRa = 134;     // Router Advertisement
constexpr std::uint8_t kNdNs = 135;     // Neighbor Solicitation
constexpr std::uint8_t kNdNa = 136;     // Neighbor Advertisement
constexpr std::uint8_t kNdLast = 137;   // Redirect
constexpr std::uint8_t kNdRedirect = kNdLast;
constexpr std::uint32_t kNdFixedSize[] = {8, 16, 24, 24, 40};
constexpr std::uint8_t kNdOptSourceLl = 1;
constexpr std::uint8_t kNdOptTargetLl = 2;
constexpr std::uint32_t kNaSize = 24 + 8;  // the NA we send: header + target link-layer address option
constexpr std::uint8_t kNaSolicited = 0x40;
constexpr std::uint8_t kNaOverride = 0x20;
constexpr std::uint64_t kMac48 = (1ull << 48) - 1;
// A neighbour table value: the MAC in the low 48 bits (bit 63: from a port).
constexpr std::uint64_t kNeighbourMacMask = kMac48;

// Unaligned loads/stores of wire fields.
inline std::uint16_t load_be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
inline std::uint32_t load_u32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline std::uint32_t load_be32(const std::uint8_t* p) { return rte_be_to_cpu_32(load_u32(p)); }
inline void store_be16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
// A 6-byte MAC at p as the low 48 bits (first byte most significant). Reads
// 8 bytes: every caller has checked that at least 8 bytes follow p (a MAC in
// an Ethernet header or an ARP body). One 8-byte load, not a 6-byte memcpy:
// the latter becomes two stores and an 8-byte reload, a store-forwarding stall.
inline std::uint64_t load_mac(const std::uint8_t* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return rte_be_to_cpu_64(v) >> 16;
}
inline void store_mac(std::uint8_t* p, std::uint64_t mac48) {
  const std::uint64_t be = rte_cpu_to_be_64(mac48 << 16);
  std::memcpy(p, &be, 6);
}

// A MAC from an ND option: exactly 6 bytes read (the option may end the frame).
inline std::uint64_t load_mac6(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 6; ++i) v = (v << 8) | p[i];
  return v;
}

inline std::uint16_t fold_checksum(std::uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

// One's-complement sum check of an IPv4 header (ihl_bytes multiple of 4):
// 32-bit words summed in 64 bits and folded. Byte order does not matter for
// the all-ones test, so the words are summed as loaded.
inline bool ipv4_checksum_ok(const std::uint8_t* ip, std::uint32_t ihl_bytes) {
  std::uint64_t sum = 0;
  for (std::uint32_t i = 0; i < ihl_bytes; i += 4) sum += load_u32(ip + i);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  return fold_checksum(static_cast<std::uint32_t>(sum)) == 0xffff;
}

// The ICMPv6 checksum sum (RFC 4443 §2.3): pseudo-header (source,
// destination, upper-layer length, next header 58) and the message, as
// big-endian 16-bit words, folded. A message whose checksum is right sums to
// 0xffff; to fill one in, sum it with a zero checksum and store ~sum.
inline std::uint16_t icmpv6_sum(const std::uint8_t* ip6, const std::uint8_t* msg, std::uint32_t size) {
  std::uint64_t sum = size + kProtoIcmpv6;
  for (std::uint32_t i = 8; i < kIpv6Size; i += 2) sum += load_be16(ip6 + i);
  for (std::uint32_t i = 0; i + 1 < size; i += 2) sum += load_be16(msg + i);
  if ((size & 1) != 0) sum += std::uint32_t{msg[size - 1]} << 8;
  sum = (sum & 0xffffffffu) + (sum >> 32);
  return fold_checksum(static_cast<std::uint32_t>(sum) + static_cast<std::uint32_t>(sum >> 32));
}

// Where a walk over IPv6 extension headers ended.
enum class Ipv6Walk : std::uint8_t {
  kUpperLayer,     // `next` is not an extension header; it starts at `offset`
  kLaterFragment,  // a fragment header with a non-zero offset: no upper layer here
  kCutShort,       // an extension header does not fit in the bytes available
  kTooLong,        // still extension headers after the most the caller walks
};
struct Ipv6Upper {
  Ipv6Walk walk;
  std::uint8_t next;     // the last next-header value read
  std::uint32_t offset;  // from the start of the IPv6 header
};

// Steps over at most `max_headers` hop-by-hop, routing, fragment and
// destination-options headers (and AH when `with_auth`) from the IPv6 header
// at ip6, of which `avail` bytes may be read. An offset past `avail` after the
// last header is the caller's to judge (kUpperLayer).
inline Ipv6Upper ipv6_upper_layer(const std::uint8_t* ip6, std::uint32_t avail, unsigned max_headers, bool with_auth) {
  const auto extension = [with_auth](std::uint8_t n) {
    return n == kIpv6HopByHop || n == kIpv6Routing || n == kIpv6Fragment || n == kIpv6DestOpts ||
           (with_auth && n == kIpv6Auth);
  };
  std::uint8_t next = ip6[6];
  std::uint32_t off = kIpv6Size;
  for (unsigned i = 0; i < max_headers; ++i) {
    if (!extension(next)) return {Ipv6Walk::kUpperLayer, next, off};
    if (off + 8 > avail) return {Ipv6Walk::kCutShort, next, off};
    const std::uint8_t* h = ip6 + off;
    if (next == kIpv6Fragment && (load_be16(h + 2) & 0xfff8) != 0) return {Ipv6Walk::kLaterFragment, next, off};
    const std::uint32_t len = next == kIpv6Fragment ? 8 : next == kIpv6Auth ? (h[1] + 2u) * 4 : (h[1] + 1u) * 8;
    next = h[0];
    off += len;
  }
  return {extension(next) ? Ipv6Walk::kTooLong : Ipv6Walk::kUpperLayer, next, off};
}

inline bool is_ipv6_link_local(const std::uint8_t* a) { return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; }

// True when the group bit of a 48-bit destination MAC is set (broadcast or multicast).
inline bool is_group_mac(std::uint64_t mac48) { return ((mac48 >> 40) & 1) != 0; }

}  // namespace ferry::dataplane::wire
