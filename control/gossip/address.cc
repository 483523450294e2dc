#include "control/gossip/address.h"

#include <fmt/format.h>

#include <charconv>

#include "common/ip_address.h"

namespace ferry::gossip {

std::string Address::to_string() const {
  return fmt::format("{}.{}.{}.{}:{}", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff, port);
}

Result<Address> Address::parse(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return make_error("address '{}': expected a.b.c.d:port", text);
  Address out;
  // The host through common/ip_address.h, the one IPv4 parser.
  const auto host = parse_ip(text.substr(0, colon));
  if (!host || host->family != Family::kIPv4) return make_error("address '{}': bad IPv4", text);
  for (std::size_t i = 0; i < 4; ++i) out.ip = (out.ip << 8) | host->bytes[i];
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port == 0 || port > 65535) {
    return make_error("address '{}': bad port", text);
  }
  out.port = static_cast<uint16_t>(port);
  return out;
}

}  // namespace ferry::gossip
