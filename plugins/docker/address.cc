#include "plugins/docker/address.h"

#include <arpa/inet.h>

#include <charconv>

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
  char text[INET6_ADDRSTRLEN] = {};
  const int af = family == IpFamily::kV4 ? AF_INET : AF_INET6;
  if (inet_ntop(af, bytes.data(), text, sizeof(text)) == nullptr) return "?";
  return text;
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

std::string MacAddress::to_string() const {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", bytes[0], bytes[1], bytes[2], bytes[3], bytes[4],
                     bytes[5]);
}

Result<IpAddress> parse_ip(std::string_view text) {
  // inet_pton needs a NUL-terminated string; the longest valid form fits.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return make_error("invalid IP address \"{}\"", text);
  char buffer[INET6_ADDRSTRLEN] = {};
  text.copy(buffer, text.size());
  IpAddress ip;
  if (text.find(':') == std::string_view::npos) {
    ip.family = IpFamily::kV4;
    if (inet_pton(AF_INET, buffer, ip.bytes.data()) == 1) return ip;
  } else {
    ip.family = IpFamily::kV6;
    if (inet_pton(AF_INET6, buffer, ip.bytes.data()) == 1) return ip;
  }
  return make_error("invalid IP address \"{}\"", text);
}

Result<IpPrefix> parse_cidr(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return make_error("invalid CIDR \"{}\": no prefix length", text);
  auto ip = parse_ip(text.substr(0, slash));
  if (!ip) return make_error("invalid CIDR \"{}\": bad address", text);
  const std::string_view digits = text.substr(slash + 1);
  unsigned length = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
  if (digits.empty() || digits.size() > 3 || ec != std::errc{} || end != digits.data() + digits.size() ||
      length > ip->max_prefix_length()) {
    return make_error("invalid CIDR \"{}\": bad prefix length", text);
  }
  return IpPrefix{*ip, static_cast<std::uint8_t>(length)};
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<MacAddress> parse_mac(std::string_view text) {
  // "xx:xx:xx:xx:xx:xx" is 17 characters.
  if (text.size() != 17) return make_error("invalid MAC address \"{}\"", text);
  const char separator = text[2];
  if (separator != ':' && separator != '-') return make_error("invalid MAC address \"{}\"", text);
  MacAddress mac;
  for (std::size_t i = 0; i < mac.bytes.size(); ++i) {
    const std::size_t at = i * 3;
    const int high = hex_value(text[at]);
    const int low = hex_value(text[at + 1]);
    if (high < 0 || low < 0 || (i < 5 && text[at + 2] != separator)) {
      return make_error("invalid MAC address \"{}\"", text);
    }
    mac.bytes[i] = static_cast<std::uint8_t>((high << 4) | low);
  }
  return mac;
}

}  // namespace ferry::plugins::docker
