#include "netns/address.h"

namespace ferry::netns {

Result<void> validate_interface_address(const IpPrefix& prefix) {
  const IpAddress& a = prefix.address;
  const std::string text = prefix.to_string();
  if (prefix.prefix_length == 0) return make_error("invalid interface address {}: prefix length 0", text);
  if (a.is_unspecified()) return make_error("invalid interface address {}: unspecified address", text);
  if (a.is_multicast()) return make_error("invalid interface address {}: multicast address", text);
  if (a.is_loopback()) return make_error("invalid interface address {}: loopback address", text);
  if (a.family == Family::kIPv4 && a.bytes[0] == 255 && a.bytes[1] == 255 && a.bytes[2] == 255 && a.bytes[3] == 255) {
    return make_error("invalid interface address {}: broadcast address", text);
  }
  return ok();
}

Result<IpPrefix> parse_interface_address(std::string_view text) {
  auto prefix = parse_prefix(text);
  if (!prefix) return prefix;
  if (auto valid = validate_interface_address(*prefix); !valid) return valid.error();
  return prefix;
}

Result<void> validate_gateway(const IpAddress& gateway) {
  const std::string text = gateway.to_string();
  if (gateway.is_unspecified()) return make_error("invalid gateway {}: unspecified address", text);
  if (gateway.is_multicast()) return make_error("invalid gateway {}: multicast address", text);
  if (gateway.is_loopback()) return make_error("invalid gateway {}: loopback address", text);
  return ok();
}

}  // namespace ferry::netns
