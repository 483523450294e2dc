// The Internet checksum (RFC 1071) over bytes and mbuf chains, pseudo-header
// sums for IPv4/IPv6, and completing or verifying an L4 checksum.
//
// Sums are kept unfolded in 64 bits: 16-bit words are added as they lie in
// memory (host byte order), so a checksum computed here and stored back with
// store16() is right on the wire on any host (RFC 1071 §2(B)). Pieces are
// combined with csum_add(); a piece that starts at an odd byte offset of the
// checksummed range must be byte-swapped first (csum_swap()).
//
// A partial checksum (virtio NEEDS_CSUM, DPDK TX_TCP_CKSUM/TX_UDP_CKSUM in
// Ferry's convention) is a checksum field that holds the folded pseudo-header
// sum INCLUDING the L4 length, exactly what pseudo_header_ipv4/6() return.
// (DPDK's rte_ipv4_phdr_cksum() leaves the length out under TSO, the NIC
// convention; Ferry keeps the kernel's.)
//
// No allocation, no system calls: safe on the packet path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

struct rte_mbuf;

namespace ferry::dataplane {

// Adds two unfolded sums with end-around carry (2^64 = 1 modulo 0xffff).
[[nodiscard]] constexpr std::uint64_t csum_add(std::uint64_t a, std::uint64_t b) {
  a += b;
  return a + static_cast<std::uint64_t>(a < b);
}

// Folds an unfolded sum to 16 bits (not complemented). Never 0 for a
// non-zero sum: 0xffff stands for "minus zero", as in the kernel's csum_fold.
[[nodiscard]] constexpr std::uint16_t csum_fold(std::uint64_t sum) {
  std::uint64_t s = (sum & 0xffffffffu) + (sum >> 32);
  s = (s & 0xffffu) + (s >> 16);
  s = (s & 0xffffu) + (s >> 16);
  s = (s & 0xffffu) + (s >> 16);
  return static_cast<std::uint16_t>(s);
}

// The sum of a piece that starts at an odd offset of the checksummed range,
// expressed for the even alignment the rest uses.
[[nodiscard]] constexpr std::uint64_t csum_swap(std::uint64_t sum) {
  const std::uint16_t f = csum_fold(sum);
  return static_cast<std::uint16_t>((f << 8) | (f >> 8));
}

// Sum of `size` bytes at `data` (any alignment; an odd size counts the last
// byte as the high-address half of a word padded with zero). Uses AVX2 when
// the CPU has it, SSE2 otherwise (chosen once at start-up).
[[nodiscard]] std::uint64_t csum_bytes(const void* data, std::size_t size);

// Plain C++ reference implementation of csum_bytes (tests compare with it).
[[nodiscard]] std::uint64_t csum_bytes_scalar(const void* data, std::size_t size);

// Which implementation csum_bytes uses: "avx2", "sse2" or "scalar".
[[nodiscard]] const char* csum_implementation();

// Sum of bytes [offset, offset + size) of the frame in the mbuf chain `m`.
// The range must lie inside the chain (pkt_len).
[[nodiscard]] std::uint64_t csum_mbuf(const rte_mbuf* m, std::uint32_t offset, std::uint32_t size);

// 16-bit field access in memory order (what the sums use) and in network
// order (lengths, ports, ids).
[[nodiscard]] inline std::uint16_t load16(const std::uint8_t* p) {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline void store16(std::uint8_t* p, std::uint16_t v) { std::memcpy(p, &v, 2); }
[[nodiscard]] inline std::uint16_t load_be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline void store_be16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
[[nodiscard]] inline std::uint32_t load_be32(const std::uint8_t* p) {
  return (static_cast<std::uint32_t>(load_be16(p)) << 16) | load_be16(p + 2);
}
inline void store_be32(std::uint8_t* p, std::uint32_t v) {
  store_be16(p, static_cast<std::uint16_t>(v >> 16));
  store_be16(p + 2, static_cast<std::uint16_t>(v));
}

// A host-order number as it sums when it lies in memory in network order
// (a pseudo-header length or protocol).
[[nodiscard]] std::uint64_t csum_be32(std::uint32_t value);

// Folded pseudo-header sums (RFC 768/793 for IPv4: source, destination,
// protocol, L4 length; RFC 8200 §8.1 for IPv6), in memory order: store16()
// them into a checksum field to make it partial. `ip` points at the IPv4
// header / IPv6 fixed header (addresses as they lie in it; a routing header's
// final destination is the caller's business).
[[nodiscard]] std::uint16_t pseudo_header_ipv4(const std::uint8_t* ip, std::uint8_t proto, std::uint32_t l4_size);
[[nodiscard]] std::uint16_t pseudo_header_ipv6(const std::uint8_t* ip6, std::uint8_t proto, std::uint32_t l4_size);

// The checksum of an IPv4 header of ihl*4 bytes (its checksum field counted
// as zero), in memory order: store16(ip + 10, ipv4_header_checksum(ip)).
[[nodiscard]] std::uint16_t ipv4_header_checksum(const std::uint8_t* ip);
// True when the IPv4 header's checksum is right.
[[nodiscard]] bool ipv4_header_checksum_ok(const std::uint8_t* ip);

// Completes a partial checksum (NEEDS_CSUM): the field at l4_offset +
// field_offset (16 for TCP, 6 for UDP) holds the pseudo-header sum; sums the
// frame from l4_offset to its end and stores the complement. A UDP checksum
// that comes out 0 is sent as 0xffff (RFC 768). The field must lie in the
// first segment and the chain must be writable there. Returns the number of
// bytes summed (for the software-checksum counter).
std::uint32_t csum_complete(rte_mbuf* m, std::uint32_t l4_offset, std::uint16_t field_offset, bool udp);

// True when the L4 checksum of the frame from l4_offset to its end is right,
// given the pseudo-header sum (as pseudo_header_ipv4/6 return it).
[[nodiscard]] bool csum_verify(const rte_mbuf* m, std::uint32_t l4_offset, std::uint16_t pseudo);

}  // namespace ferry::dataplane
