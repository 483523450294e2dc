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

int IpAddress::af() const { return family == Family::kIPv4 ? AF_INET : AF_INET6; }

bool IpAddress::is_unspecified() const {
  return std::all_of(bytes.begin(), bytes.begin() + static_cast<long>(size()), [](std::uint8_t b) { return b == 0; });
}

bool IpAddress::is_multicast() const { return family == Family::kIPv4 ? (bytes[0] & 0xf0) == 0xe0 : bytes[0] == 0xff; }

bool IpAddress::is_loopback() const {
  if (family == Family::kIPv4) return bytes[0] == 127;
  return std::all_of(bytes.begin(), bytes.begin() + 15, [](std::uint8_t b) { return b == 0; }) && bytes[15] == 1;
}

bool IpAddress::is_ipv6_link_local() const {
  return family == Family::kIPv6 && bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(af(), bytes.data(), buf, sizeof(buf));
  return buf;
}

std::string IpPrefix::to_string() const { return fmt::format("{}/{}", address.to_string(), prefix_length); }

IpPrefix IpPrefix::network() const {
  IpPrefix out = *this;
  const std::size_t total_bits = address.size() * 8;
  for (std::size_t bit = prefix_length; bit < total_bits; ++bit) {
    out.address.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
  return out;
}

bool IpPrefix::contains(const IpAddress& addr) const {
  if (addr.family != address.family) return false;
  IpPrefix other{addr, prefix_length};
  return other.network().address == network().address;
}

Result<IpAddress> parse_ip(std::string_view text) {
  // inet_pton needs a NUL-terminated string; addresses are short.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return make_error("invalid IP address '{}'", text);
  const std::string copy(text);
  IpAddress addr;
  if (inet_pton(AF_INET, copy.c_str(), addr.bytes.data()) == 1) {
    addr.family = Family::kIPv4;
    return addr;
  }
  if (inet_pton(AF_INET6, copy.c_str(), addr.bytes.data()) == 1) {
    addr.family = Family::kIPv6;
    return addr;
  }
  return make_error("invalid IP address '{}': neither IPv4 (10.0.0.1) nor IPv6 (fd00::1)", text);
}

Result<IpPrefix> parse_prefix(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    return make_error("invalid prefix '{}': expected ADDRESS/LENGTH like 10.0.0.2/24 or fd00::2/64", text);
  }
  auto addr = parse_ip(text.substr(0, slash));
  if (!addr) return make_error("invalid prefix '{}': {}", text, addr.error().message);
  const std::string_view len_text = text.substr(slash + 1);
  const unsigned max_length = addr->family == Family::kIPv4 ? 32 : 128;
  unsigned length = 0;
  const bool digits_only = !len_text.empty() && len_text.size() <= 3 &&
                           std::all_of(len_text.begin(), len_text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits_only) return make_error("invalid prefix '{}': length '{}' is not a number", text, len_text);
  std::from_chars(len_text.data(), len_text.data() + len_text.size(), length);
  if (length > max_length) {
    return make_error("invalid prefix '{}': length {} is out of range 0..{}", text, length, max_length);
  }
  return IpPrefix{*addr, length};
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
