// Typed network values parsed at the Docker API boundary: IP addresses,
// CIDR prefixes (which keep their host bits: "10.10.0.5/24" is an interface
// address, not a network). MAC addresses are common/mac_address.h's. Small pure functions; the
// codec turns every address string Docker sends into one of these.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/mac_address.h"
#include "common/result.h"

namespace ferry::plugins::docker {

enum class IpFamily : std::uint8_t { kV4, kV6 };

// An IPv4 or IPv6 address. IPv4 uses bytes[0..3]; the rest stay zero, so
// defaulted comparison orders and compares addresses correctly.
struct IpAddress {
  IpFamily family = IpFamily::kV4;
  std::array<std::uint8_t, 16> bytes{};

  [[nodiscard]] static IpAddress v4(std::uint32_t host_order);
  [[nodiscard]] std::size_t size() const { return family == IpFamily::kV4 ? 4 : 16; }
  [[nodiscard]] unsigned max_prefix_length() const { return family == IpFamily::kV4 ? 32 : 128; }
  // The address as a host-order integer (IPv4 only).
  [[nodiscard]] std::uint32_t v4_value() const;
  // Canonical text: dotted quad, or RFC 5952 IPv6.
  [[nodiscard]] std::string to_string() const;

  auto operator<=>(const IpAddress&) const = default;  // NOLINT(modernize-use-nullptr): clang-tidy 14 false positive
};

// An address with a prefix length ("CIDR").
struct IpPrefix {
  IpAddress address;
  std::uint8_t length = 0;

  // The same prefix with the host bits cleared: 10.10.0.5/24 -> 10.10.0.0/24.
  [[nodiscard]] IpPrefix network() const;
  // True when `ip` lies inside this prefix (same family, same network bits).
  [[nodiscard]] bool contains(const IpAddress& ip) const;
  [[nodiscard]] std::string to_string() const;

  auto operator<=>(const IpPrefix&) const = default;  // NOLINT(modernize-use-nullptr): clang-tidy 14 false positive
};

// "10.0.0.1" or "fd00::1". No zone ("%eth0"), no prefix, no surrounding space.
[[nodiscard]] Result<IpAddress> parse_ip(std::string_view text);
// "10.0.0.1/24" or "fd00::/64": an address, '/', and a decimal length within
// the family's range. Host bits are kept.
[[nodiscard]] Result<IpPrefix> parse_cidr(std::string_view text);

}  // namespace ferry::plugins::docker
