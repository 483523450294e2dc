// The API's typed model from the agent's typed values (common/ip_address.h,
// common/mac_address.h) and back, with no text in between: conversions of
// addresses, and command builders that apply the server's rules to values
// already parsed (the agent's endpoint records), as the text builders of
// request.h do to text. A command built here is one the server accepts.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/ip_address.h"
#include "common/mac_address.h"
#include "common/result.h"
#include "dataplane/api/addr.h"
#include "dataplane/api/request.h"

namespace ferry::dp_api {

// ---- addresses ---------------------------------------------------------------

[[nodiscard]] ferry::IpAddress to_ip(Ipv4 ip);
[[nodiscard]] ferry::IpAddress to_ip(const Ipv6& ip);
[[nodiscard]] ferry::IpAddress to_ip(const IpAddress& ip);
[[nodiscard]] ferry::IpPrefix to_prefix(const Ipv4Prefix& prefix);
[[nodiscard]] ferry::IpPrefix to_prefix(const Ipv6Prefix& prefix);

// An IPv4 unicast host address (parse_unicast_ipv4's rule on a value).
Result<Ipv4> unicast_ipv4(const ferry::IpAddress& ip);
// A neighbour entry's address (parse_neighbour_ip's rules on a value).
Result<IpAddress> neighbour_ip(const ferry::IpAddress& ip);

// ---- commands ----------------------------------------------------------------
// A unicast MAC, unicast IPv4 VTEPs and addresses, endpoint IPv6 addresses,
// no address twice; the first bad field's error.

Result<PortAddCmd> make_port_add(std::string_view iface, std::uint32_t vni, const MacAddress& mac,
                                 std::span<const ferry::IpPrefix> ips, EndpointDriver driver);
Result<FdbAddCmd> make_fdb_add(std::uint32_t vni, const MacAddress& mac, const ferry::IpAddress& vtep);
Result<FdbDelCmd> make_fdb_del(std::uint32_t vni, const MacAddress& mac);
Result<NeighAddCmd> make_neigh_add(std::uint32_t vni, const ferry::IpAddress& ip, const MacAddress& mac);
Result<NeighDelCmd> make_neigh_del(std::uint32_t vni, const ferry::IpAddress& ip);
Result<FloodAddCmd> make_flood_add(std::uint32_t vni, const ferry::IpAddress& vtep);
Result<FloodDelCmd> make_flood_del(std::uint32_t vni, const ferry::IpAddress& vtep);

}  // namespace ferry::dp_api
