// PoolSpec: one address pool cut into equal blocks, the unit of ownership.
//
// The allocator only ever does arithmetic on 32-bit addresses (Addr):
//  - an IPv4 pool is its subnet, /8../30; an Addr is the IPv4 address in host
//    byte order (10.0.0.1 == 0x0a000001);
//  - an IPv6 pool for network P/L (L 1..126) manages a window: the first
//    2^w addresses of P, w = min(128 - L, 24). They all share the top 96 bits
//    of P, so an Addr is an address's low 32 bits. `subnet`/`prefix_len`
//    describe the window as if it were an IPv4 subnet (prefix_len = 32 - w,
//    so 8..30 as well), and `net6`/`prefix6` hold P and L.
// The window's first address (the network), the next one (the gateway) and
// its last one (IPv4 broadcast; in IPv6 simply kept back, the rule is the
// same for both families) are never allocated.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/ip_address.h"
#include "common/result.h"

namespace ferry::ipam {

// An address of a pool as 32 bits: the IPv4 address, or the low 32 bits of
// an IPv6 pool's address (PoolSpec::format/parse convert it to and from text).
using Addr = std::uint32_t;

// An IPv6 address or network, network byte order.
using Ipv6Bytes = std::array<std::uint8_t, 16>;

// Dotted-quad text of an IPv4 address (only meaningful for IPv4 pools; use
// PoolSpec::format for an address of any pool).
std::string format_ipv4(Addr ip);

// Largest IPv6 window: 2^24 addresses, the size of the largest IPv4 pool (/8).
inline constexpr std::uint32_t kMaxWindowBits = 24;

struct PoolSpec {
  std::string name;
  Addr subnet = 0;                // IPv4 subnet, or the IPv6 window's first address (low 32 bits of net6)
  std::uint32_t prefix_len = 24;  // 8..30 (an IPv6 window's 32 - w)
  std::uint32_t block_size = 1;   // addresses per block, a power of two
  std::string genesis;            // owns every block at version 0
  Ipv6Bytes net6{};               // IPv6 pools: the network P, host bits zero; all zero for IPv4
  std::uint32_t prefix6 = 0;      // IPv6 pools: L, 1..126; 0 for IPv4

  // Chooses the block size: the smallest power of two that cuts the pool
  // into at most max_blocks blocks. IPv4 only; host bits of `subnet` zero.
  static Result<PoolSpec> make(std::string name, Addr subnet, std::uint32_t prefix_len, std::string genesis,
                               std::uint32_t max_blocks);
  // From CIDR text of either family: "10.1.0.0/16" or "fd00:1::/64" (host
  // bits zero; IPv4 /8../30, IPv6 /1../126 outside ::/80 and ff00::/8).
  static Result<PoolSpec> make(std::string name, std::string_view cidr, std::string genesis, std::uint32_t max_blocks);

  [[nodiscard]] bool is_v6() const { return prefix6 != 0; }
  // Addresses managed (the IPv4 subnet or the IPv6 window).
  [[nodiscard]] std::uint32_t size() const { return 1U << (32 - prefix_len); }
  [[nodiscard]] std::uint32_t num_blocks() const { return size() / block_size; }
  [[nodiscard]] bool contains(Addr ip) const { return ip - subnet < size(); }
  [[nodiscard]] std::uint32_t block_of(Addr ip) const { return (ip - subnet) / block_size; }
  [[nodiscard]] Addr block_first(std::uint32_t block) const { return subnet + block * block_size; }
  [[nodiscard]] bool reserved(Addr ip) const { return ip == subnet || ip == subnet + 1 || ip == subnet + size() - 1; }
  // Addresses of `block` that may be allocated (block_size minus reserved).
  [[nodiscard]] std::uint32_t usable_in(std::uint32_t block) const;

  // The network as CIDR text: "10.1.0.0/16", "fd00:1::/64" (the real L, not
  // the window).
  [[nodiscard]] std::string cidr() const;
  // The managed addresses as "first-last" text.
  [[nodiscard]] std::string window() const;
  // An address of this pool as text: dotted quad, or RFC 5952 IPv6.
  [[nodiscard]] std::string format(Addr ip) const;
  // The full IPv6 address of `ip` (IPv6 pools).
  [[nodiscard]] Ipv6Bytes v6_address(Addr ip) const;
  // A bare address (no "/len") of this pool's family inside the managed
  // addresses, or an error saying why not.
  [[nodiscard]] Result<Addr> parse(std::string_view address) const;
  // The same for a typed address, and back: no text in between.
  [[nodiscard]] Result<Addr> addr_of(const IpAddress& address) const;
  [[nodiscard]] IpAddress ip_of(Addr ip) const;
  // The network (the real L for IPv6, not the window).
  [[nodiscard]] IpPrefix prefix() const;

  // Everything a peer's copy must satisfy; max_blocks/max_name bound it.
  [[nodiscard]] Result<void> validate(std::uint32_t max_blocks, std::size_t max_name_size) const;
  bool operator==(const PoolSpec&) const = default;
};

// A host or pool name as accepted from the wire: 1..max bytes, printable
// ASCII without spaces (they end up in logs and errors).
bool valid_name(std::string_view name, std::size_t max_size);

}  // namespace ferry::ipam
