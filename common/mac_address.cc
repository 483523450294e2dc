#include "common/mac_address.h"

#include <fmt/format.h>

namespace ferry {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Error bad_mac(std::string_view text) {
  return make_error("invalid MAC address '{}': expected six hex pairs like 02:42:0a:00:00:02 (':' or '-' between them)",
                    text);
}

}  // namespace

std::string MacAddress::to_string() const {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", bytes[0], bytes[1], bytes[2], bytes[3], bytes[4],
                     bytes[5]);
}

Result<MacAddress> parse_mac(std::string_view text) {
  // Exactly 17 characters: six pairs and five separators of one kind.
  if (text.size() != 17) return bad_mac(text);
  const char separator = text[2];
  if (separator != ':' && separator != '-') return bad_mac(text);
  MacAddress mac;
  for (std::size_t i = 0; i < mac.bytes.size(); ++i) {
    const std::size_t at = i * 3;
    const int high = hex_value(text[at]);
    const int low = hex_value(text[at + 1]);
    if (high < 0 || low < 0 || (i + 1 < mac.bytes.size() && text[at + 2] != separator)) return bad_mac(text);
    mac.bytes[i] = static_cast<std::uint8_t>(high << 4 | low);
  }
  return mac;
}

Result<MacAddress> parse_unicast_mac(std::string_view text) {
  auto mac = parse_mac(text);
  if (!mac) return mac;
  if (mac->is_multicast()) {
    return make_error("invalid MAC address '{}': multicast/broadcast (the low bit of the first octet is set)", text);
  }
  if (mac->is_zero()) return make_error("invalid MAC address '{}': all zero", text);
  return mac;
}

}  // namespace ferry
