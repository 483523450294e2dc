#include "netns/address.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>

namespace ferry::netns {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool MacAddress::is_zero() const {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

std::string MacAddress::to_string() const {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", bytes[0], bytes[1], bytes[2], bytes[3], bytes[4],
                     bytes[5]);
}

Result<MacAddress> parse_mac(std::string_view text) {
  // Exactly "xx:xx:xx:xx:xx:xx": 17 characters.
  if (text.size() != 17) {
    return make_error("invalid MAC address '{}': expected six hex octets like 02:42:0a:00:00:02", text);
  }
  MacAddress mac;
  for (std::size_t i = 0; i < 6; ++i) {
    const std::size_t at = i * 3;
    const int hi = hex_value(text[at]);
    const int lo = hex_value(text[at + 1]);
    if (hi < 0 || lo < 0 || (i < 5 && text[at + 2] != ':')) {
      return make_error("invalid MAC address '{}': expected six hex octets like 02:42:0a:00:00:02", text);
    }
    mac.bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  if (mac.is_zero()) return make_error("invalid MAC address '{}': all zero", text);
  if (mac.is_multicast()) {
    return make_error("invalid MAC address '{}': multicast/broadcast (low bit of the first octet is set)", text);
  }
  return mac;
}

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
