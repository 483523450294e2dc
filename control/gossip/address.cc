#include "control/gossip/address.h"

#include <fmt/format.h>

#include <charconv>

namespace ferry::gossip {

std::string Address::to_string() const {
  return fmt::format("{}.{}.{}.{}:{}", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff, port);
}

Result<Address> Address::parse(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return make_error("address '{}': expected a.b.c.d:port", text);
  Address out;
  std::string_view host = text.substr(0, colon);
  for (int i = 0; i < 4; ++i) {
    unsigned octet = 0;
    const auto [ptr, ec] = std::from_chars(host.data(), host.data() + host.size(), octet);
    if (ec != std::errc() || octet > 255 || ptr == host.data()) return make_error("address '{}': bad IPv4", text);
    out.ip = (out.ip << 8) | octet;
    host.remove_prefix(static_cast<size_t>(ptr - host.data()));
    if (i < 3) {
      if (host.empty() || host.front() != '.') return make_error("address '{}': bad IPv4", text);
      host.remove_prefix(1);
    }
  }
  if (!host.empty()) return make_error("address '{}': bad IPv4", text);
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
