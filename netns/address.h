// Addresses as the netns library takes them: the checks an interface address
// or a gateway must pass. The IPv4/IPv6 types and their parsing are
// common/ip_address.h; MACs are common/mac_address.h's MacAddress, an
// interface's own one parsed by parse_unicast_mac. Parsing and validation
// are pure functions, so bad input is rejected before anything touches the
// kernel.
#pragma once

#include <string>
#include <string_view>

#include "common/ip_address.h"
#include "common/mac_address.h"
#include "common/result.h"

namespace ferry::netns {

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
