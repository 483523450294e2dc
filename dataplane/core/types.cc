#include "dataplane/core/types.h"

#include "common/ip_address.h"

namespace ferry::dataplane {

// Text goes through common/ip_address.h, the one IPv4/IPv6 parser and
// formatter (dotted quad; RFC 5952 IPv6).

std::optional<Ipv4Addr> Ipv4Addr::parse(std::string_view text) {
  auto ip = parse_ip(text);
  if (!ip || ip->family != Family::kIPv4) return std::nullopt;
  const auto& b = ip->bytes;
  return Ipv4Addr{std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3]};
}

std::string Ipv4Addr::to_string() const {
  IpAddress ip;
  ip.family = Family::kIPv4;
  for (std::size_t i = 0; i < 4; ++i) ip.bytes[i] = static_cast<std::uint8_t>(value >> (24 - 8 * i));
  return ip.to_string();
}

std::optional<Ipv6Addr> Ipv6Addr::parse(std::string_view text) {
  auto ip = parse_ip(text);
  if (!ip || ip->family != Family::kIPv6) return std::nullopt;
  return Ipv6Addr{ip->bytes};
}

std::string Ipv6Addr::to_string() const { return IpAddress{Family::kIPv6, bytes}.to_string(); }

}  // namespace ferry::dataplane
