// IPv4 and IPv6 addresses and prefixes (CIDR) as text and bytes: the one
// parser and formatter every module uses (netns, the agent, the IPAM, the
// data plane's API). Text out is canonical: dotted quad, RFC 5952 IPv6
// (glibc's inet_ntop). Pure functions; bad text is an error, never a guess.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace ferry {

enum class Family : std::uint8_t { kIPv4 = 4, kIPv6 = 6 };

struct IpAddress {
  Family family = Family::kIPv4;
  std::array<std::uint8_t, 16> bytes{};  // IPv4 uses the first 4

  [[nodiscard]] std::size_t size() const { return family == Family::kIPv4 ? 4 : 16; }
  [[nodiscard]] int af() const;  // AF_INET or AF_INET6
  [[nodiscard]] bool is_unspecified() const;
  [[nodiscard]] bool is_multicast() const;
  [[nodiscard]] bool is_loopback() const;
  [[nodiscard]] bool is_ipv6_link_local() const;
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  // IPv4 before IPv6, then by bytes: the order of sets and map keys.
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 false positive on a defaulted <=> (llvm#53961)
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
};

// An address with a prefix length: an interface address ("10.0.0.2/24") or a
// route destination ("10.1.0.0/16", "0.0.0.0/0").
struct IpPrefix {
  IpAddress address;
  unsigned prefix_length = 0;

  [[nodiscard]] std::string to_string() const;  // "10.0.0.2/24"
  // The same prefix with host bits cleared: 10.0.0.2/24 -> 10.0.0.0/24.
  [[nodiscard]] IpPrefix network() const;
  // True when `addr` lies inside this prefix.
  [[nodiscard]] bool contains(const IpAddress& addr) const;
  [[nodiscard]] Family family() const { return address.family; }
  friend bool operator==(const IpPrefix&, const IpPrefix&) = default;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 false positive on a defaulted <=> (llvm#53961)
  friend auto operator<=>(const IpPrefix&, const IpPrefix&) = default;
};

// Parses a plain IPv4 or IPv6 address ("10.0.0.1", "fd00::1"), no prefix.
Result<IpAddress> parse_ip(std::string_view text);

// Parses "ADDR/LEN" with LEN in 0..32 (IPv4) or 0..128 (IPv6). A missing
// "/LEN" is an error: a host route is written /32 or /128.
Result<IpPrefix> parse_prefix(std::string_view text);

}  // namespace ferry
