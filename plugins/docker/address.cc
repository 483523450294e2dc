#include "plugins/docker/address.h"

#include "common/ip_address.h"

namespace ferry::plugins::docker {

IpAddress IpAddress::v4(std::uint32_t host_order) {
  IpAddress ip;
  ip.family = IpFamily::kV4;
  ip.bytes[0] = static_cast<std::uint8_t>(host_order >> 24);
  ip.bytes[1] = static_cast<std::uint8_t>(host_order >> 16);
  ip.bytes[2] = static_cast<std::uint8_t>(host_order >> 8);
  ip.bytes[3] = static_cast<std::uint8_t>(host_order);
  return ip;
}

std::uint32_t IpAddress::v4_value() const {
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) | (std::uint32_t{bytes[2]} << 8) |
         std::uint32_t{bytes[3]};
}

std::string IpAddress::to_string() const {
  return ferry::IpAddress{family == IpFamily::kV4 ? ferry::Family::kIPv4 : ferry::Family::kIPv6, bytes}.to_string();
}

IpPrefix IpPrefix::network() const {
  IpPrefix out = *this;
  for (std::size_t i = 0; i < out.address.bytes.size(); ++i) {
    const unsigned first_bit = static_cast<unsigned>(i) * 8;
    if (first_bit >= length) {
      out.address.bytes[i] = 0;
    } else if (first_bit + 8 > length) {
      const unsigned keep = length - first_bit;
      out.address.bytes[i] &= static_cast<std::uint8_t>(0xff00u >> keep);
    }
  }
  return out;
}

bool IpPrefix::contains(const IpAddress& ip) const {
  if (ip.family != address.family) return false;
  return IpPrefix{ip, length}.network() == network();
}

std::string IpPrefix::to_string() const { return fmt::format("{}/{}", address.to_string(), length); }

// Text goes through common/ip_address.h, the one IPv4/IPv6 parser; the
// messages are the plugin's own (Docker shows them to its user).
Result<IpAddress> parse_ip(std::string_view text) {
  auto parsed = ferry::parse_ip(text);
  if (!parsed) return make_error("invalid IP address \"{}\"", text);
  IpAddress ip;
  ip.family = parsed->family == ferry::Family::kIPv4 ? IpFamily::kV4 : IpFamily::kV6;
  ip.bytes = parsed->bytes;
  return ip;
}

Result<IpPrefix> parse_cidr(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return make_error("invalid CIDR \"{}\": no prefix length", text);
  auto ip = parse_ip(text.substr(0, slash));
  if (!ip) return make_error("invalid CIDR \"{}\": bad address", text);
  auto prefix = ferry::parse_prefix(text);
  if (!prefix) return make_error("invalid CIDR \"{}\": bad prefix length", text);
  return IpPrefix{*ip, static_cast<std::uint8_t>(prefix->prefix_length)};
}

}  // namespace ferry::plugins::docker
