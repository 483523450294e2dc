// Addresses as the netns library takes them: Ethernet MACs, and the checks
// an interface address or a gateway must pass (the IPv4/IPv6 types and their
// parsing are common/ip_address.h). Parsing and validation are pure functions,
// so bad input is rejected before anything touches the kernel.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/ip_address.h"
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

// IP addresses and prefixes: common/ip_address.h, used here under these names.
using ferry::Family;
using ferry::IpAddress;
using ferry::IpPrefix;
using ferry::parse_ip;
using ferry::parse_prefix;

// Parses an interface address ("10.0.0.2/24"): a prefix whose address is a
// usable unicast host address (not unspecified, multicast, loopback, the
// IPv4 limited broadcast) and whose length is not 0.
Result<IpPrefix> parse_interface_address(std::string_view text);

// The same check for an already parsed prefix.
Result<void> validate_interface_address(const IpPrefix& prefix);

// A next hop (gateway) must be a unicast address, not unspecified/multicast/loopback.
Result<void> validate_gateway(const IpAddress& gateway);

}  // namespace ferry::netns
