#include "common/ip_address.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>

namespace ferry {

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

}  // namespace ferry
