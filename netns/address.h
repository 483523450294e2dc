// Addresses as the netns library takes them: Ethernet MACs, IPv4/IPv6
// addresses and prefixes (CIDR). Parsing and validation are pure functions,
// so bad input is rejected before anything touches the kernel.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace ferry::netns {

struct MacAddress {
  std::array<std::uint8_t, 6> bytes{};

  [[nodiscard]] bool is_zero() const;
  [[nodiscard]] bool is_multicast() const { return (bytes[0] & 0x01) != 0; }  // includes broadcast
  [[nodiscard]] bool is_locally_administered() const { return (bytes[0] & 0x02) != 0; }
  [[nodiscard]] std::string to_string() const;  // "02:42:0a:00:00:02"
  friend bool operator==(const MacAddress&, const MacAddress&) = default;
};

// Parses "aa:bb:cc:dd:ee:ff" (hex digits in either case, ':' between each of
// the six octets). Rejects multicast/broadcast and all-zero addresses: neither
// can be an interface's own address.
Result<MacAddress> parse_mac(std::string_view text);

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
  friend bool operator==(const IpPrefix&, const IpPrefix&) = default;
};

// Parses a plain IPv4 or IPv6 address ("10.0.0.1", "fd00::1"), no prefix.
Result<IpAddress> parse_ip(std::string_view text);

// Parses "ADDR/LEN" with LEN in 0..32 (IPv4) or 0..128 (IPv6). A missing
// "/LEN" is an error: a host route is written /32 or /128.
Result<IpPrefix> parse_prefix(std::string_view text);

// Parses an interface address ("10.0.0.2/24"): a prefix whose address is a
// usable unicast host address (not unspecified, multicast, loopback, the
// IPv4 limited broadcast) and whose length is not 0.
Result<IpPrefix> parse_interface_address(std::string_view text);

// The same check for an already parsed prefix.
Result<void> validate_interface_address(const IpPrefix& prefix);

// A next hop (gateway) must be a unicast address, not unspecified/multicast/loopback.
Result<void> validate_gateway(const IpAddress& gateway);

}  // namespace ferry::netns
