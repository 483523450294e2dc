// The address types the API carries (IPv4, IPv4/LEN, IPv6, IPv6/LEN; MACs
// are common/mac_address.h's MacAddress) with the API's rules on top of
// common/ip_address.h's one parser and formatter, and the VNI range: the API
// server, ferryctl and the agent share these so a value one accepts is one
// the others accept.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "common/mac_address.h"
#include "common/result.h"

namespace ferry::dp_api {

inline constexpr std::uint32_t kMinVni = 1;
inline constexpr std::uint32_t kMaxVni = (1U << 24) - 1;

// Longest text a request's address, interface or driver field may hold (the
// longest address, IPv6 with a prefix length, is 49 characters), and longest
// address text a reply may hold: longer text is refused before it is parsed
// or echoed in an error.
inline constexpr std::size_t kMaxTextFieldSize = 64;

// IPv4 address in host byte order (10.0.0.1 == 0x0a000001).
struct Ipv4 {
  std::uint32_t value = 0;
  friend bool operator==(const Ipv4&, const Ipv4&) = default;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 false positive on a defaulted <=> (llvm#53961)
  friend auto operator<=>(const Ipv4&, const Ipv4&) = default;
};

struct Ipv4Prefix {
  Ipv4 addr;
  std::uint8_t length = 32;

  // True when `other` is inside this prefix (same subnet).
  [[nodiscard]] bool contains(Ipv4 other) const {
    if (length == 0) {
      return true;
    }
    const std::uint32_t mask = length >= 32 ? 0xffffffffU : ~(0xffffffffU >> length);
    return (addr.value & mask) == (other.value & mask);
  }
  friend bool operator==(const Ipv4Prefix&, const Ipv4Prefix&) = default;
};

// IPv6 address in wire order.
struct Ipv6 {
  std::array<std::uint8_t, 16> bytes{};
  friend bool operator==(const Ipv6&, const Ipv6&) = default;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 false positive on a defaulted <=> (llvm#53961)
  friend auto operator<=>(const Ipv6&, const Ipv6&) = default;
};

struct Ipv6Prefix {
  Ipv6 addr;
  std::uint8_t length = 128;
  friend bool operator==(const Ipv6Prefix&, const Ipv6Prefix&) = default;
};

// A neighbour entry's address: either family.
using IpAddress = std::variant<Ipv4, Ipv6>;

// Dotted quad, exactly four decimal parts 0..255 without leading zeros, no
// '+' or spaces (common/ip_address.h's parse_ip).
Result<Ipv4> parse_ipv4(std::string_view text);
std::string format_ipv4(Ipv4 ip);

// "A.B.C.D/LEN"; a bare address when `allow_bare` (length 32).
Result<Ipv4Prefix> parse_ipv4_prefix(std::string_view text, bool allow_bare = false);
std::string format_ipv4_prefix(const Ipv4Prefix& prefix);

// An IPv4 unicast host address: not 0.0.0.0, not multicast/broadcast.
Result<Ipv4> parse_unicast_ipv4(std::string_view text);

// Any IPv6 text form inet_pton accepts ("fd00::1", "2001:db8:0:0::a"); no
// zone ("%eth0"), no prefix.
Result<Ipv6> parse_ipv6(std::string_view text);
// RFC 5952 canonical text: lowercase, no leading zeros, the longest run of
// zero groups as "::" ("fd00::1").
std::string format_ipv6(const Ipv6& ip);

// "ADDR/LEN" (LEN 0..128); a bare address when `allow_bare` (length 128).
Result<Ipv6Prefix> parse_ipv6_prefix(std::string_view text, bool allow_bare = false);
std::string format_ipv6_prefix(const Ipv6Prefix& prefix);

// Why `ip` cannot be an endpoint's or a neighbour's IPv6 address, or empty
// when it can (global or unique-local unicast). Refused: :: (unspecified),
// ::1, multicast ff00::/8, link-local fe80::/10 (always allowed as a source
// and resolved by flooding ND: not something to program), and the
// IPv4-embedded ::/96 and ::ffff:0:0/96.
std::string_view ipv6_endpoint_refusal(const Ipv6& ip);

// An endpoint IPv6 address (bare), refused as above.
Result<Ipv6> parse_endpoint_ipv6(std::string_view text);

// A neighbour entry's address: IPv4 unicast (parse_unicast_ipv4) when the
// text has no ':', else an endpoint IPv6 address (parse_endpoint_ipv6).
Result<IpAddress> parse_neighbour_ip(std::string_view text);
std::string format_ip(const IpAddress& ip);

Result<std::uint32_t> check_vni(std::uint32_t vni);

}  // namespace ferry::dp_api
