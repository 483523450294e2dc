#include "dataplane/api/addr.h"

#include <fmt/format.h>

#include <charconv>

#include "common/ip_address.h"

namespace ferry::dp_api {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace

Result<MacAddr> parse_mac(std::string_view text) {
  // Exactly 17 characters: six hex pairs and five separators of one kind.
  if (text.size() != 17) {
    return make_error("bad MAC '{}': expected six hex pairs like 02:00:0a:00:00:01", text);
  }
  const char sep = text[2];
  if (sep != ':' && sep != '-') {
    return make_error("bad MAC '{}': expected ':' between hex pairs", text);
  }
  MacAddr mac;
  for (std::size_t i = 0; i < 6; ++i) {
    const std::size_t at = i * 3;
    const int hi = hex_digit(text[at]);
    const int lo = hex_digit(text[at + 1]);
    if (hi < 0 || lo < 0 || (i < 5 && text[at + 2] != sep)) {
      return make_error("bad MAC '{}': expected six hex pairs like 02:00:0a:00:00:01", text);
    }
    mac.bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return mac;
}

std::string format_mac(const MacAddr& mac) {
  const auto& b = mac.bytes;
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5]);
}

Result<MacAddr> parse_unicast_mac(std::string_view text) {
  auto mac = parse_mac(text);
  if (!mac) {
    return mac.error();
  }
  if (mac->is_multicast()) {
    return make_error("bad MAC '{}': multicast/broadcast MAC where a unicast one is needed", text);
  }
  if (mac->is_zero()) {
    return make_error("bad MAC '{}': the all-zero MAC is not an endpoint address", text);
  }
  return mac;
}

Result<Ipv4> parse_ipv4(std::string_view text) {
  std::uint32_t value = 0;
  std::size_t pos = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (pos >= text.size() || text[pos] != '.') {
        return make_error("bad IPv4 address '{}': expected A.B.C.D", text);
      }
      ++pos;
    }
    const std::size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      ++pos;
    }
    unsigned octet = 0;
    const auto digits = pos - start;
    if (digits == 0 || digits > 3) {
      return make_error("bad IPv4 address '{}': expected A.B.C.D", text);
    }
    std::from_chars(text.data() + start, text.data() + pos, octet);
    if (octet > 255) {
      return make_error("bad IPv4 address '{}': {} is not 0..255", text, octet);
    }
    value = (value << 8) | octet;
  }
  if (pos != text.size()) {
    return make_error("bad IPv4 address '{}': expected A.B.C.D", text);
  }
  return Ipv4{value};
}

std::string format_ipv4(Ipv4 ip) {
  const auto v = ip.value;
  return fmt::format("{}.{}.{}.{}", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
}

namespace {

// "ADDR/LEN" (or a bare address as a host route when allowed) for either
// family's address type: one rule for the length after the slash.
template <typename Prefix, typename Parse>
Result<Prefix> parse_prefix_of(std::string_view text, bool allow_bare, unsigned max_length, std::string_view form,
                               Parse parse) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    if (!allow_bare) return make_error("bad prefix '{}': expected {}/LEN", text, form);
    auto ip = parse(text);
    if (!ip) return ip.error();
    return Prefix{*ip, static_cast<std::uint8_t>(max_length)};
  }
  auto ip = parse(text.substr(0, slash));
  if (!ip) return ip.error();
  const auto len_text = text.substr(slash + 1);
  unsigned length = 0;
  const auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), length);
  if (len_text.empty() || ec != std::errc{} || end != len_text.data() + len_text.size() || length > max_length) {
    return make_error("bad prefix '{}': the length after '/' must be 0..{}", text, max_length);
  }
  return Prefix{*ip, static_cast<std::uint8_t>(length)};
}

}  // namespace

Result<Ipv4Prefix> parse_ipv4_prefix(std::string_view text, bool allow_bare) {
  return parse_prefix_of<Ipv4Prefix>(text, allow_bare, 32, "A.B.C.D", parse_ipv4);
}

std::string format_ipv4_prefix(const Ipv4Prefix& prefix) {
  return fmt::format("{}/{}", format_ipv4(prefix.addr), prefix.length);
}

Result<Ipv4> parse_unicast_ipv4(std::string_view text) {
  auto ip = parse_ipv4(text);
  if (!ip) {
    return ip.error();
  }
  if (ip->value == 0 || ip->value >= 0xe0000000U) {
    return make_error("bad IPv4 address '{}': not a unicast host address", text);
  }
  return ip;
}

Result<Ipv6> parse_ipv6(std::string_view text) {
  auto ip = ferry::parse_ip(text);
  if (!ip || ip->family != ferry::Family::kIPv6) return make_error("bad IPv6 address '{}'", text);
  return Ipv6{ip->bytes};
}

// RFC 5952 text (common/ip_address.h) for every address but the
// IPv4-embedded ones, which no endpoint or neighbour may have.
std::string format_ipv6(const Ipv6& ip) { return ferry::IpAddress{ferry::Family::kIPv6, ip.bytes}.to_string(); }

Result<Ipv6Prefix> parse_ipv6_prefix(std::string_view text, bool allow_bare) {
  return parse_prefix_of<Ipv6Prefix>(text, allow_bare, 128, "ADDR", parse_ipv6);
}

std::string format_ipv6_prefix(const Ipv6Prefix& prefix) {
  return fmt::format("{}/{}", format_ipv6(prefix.addr), prefix.length);
}

std::string_view ipv6_endpoint_refusal(const Ipv6& ip) {
  const auto& b = ip.bytes;
  bool first_ten_zero = true;
  for (std::size_t i = 0; i < 10; ++i) {
    first_ten_zero = first_ten_zero && b[i] == 0;
  }
  if (b[0] == 0xff) {
    return "multicast (ff00::/8) is not a host address";
  }
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) {
    return "link-local (fe80::/10) addresses are not programmed: any is allowed as a source and ND resolves them";
  }
  if (first_ten_zero && b[10] == 0 && b[11] == 0) {
    bool zero = true;
    for (std::size_t i = 12; i < 15; ++i) {
      zero = zero && b[i] == 0;
    }
    if (zero && b[15] == 0) {
      return "the unspecified address :: is not a host address";
    }
    if (zero && b[15] == 1) {
      return "the loopback address ::1 is not an endpoint address";
    }
    return "IPv4-compatible addresses (::/96) are deprecated";
  }
  if (first_ten_zero && b[10] == 0xff && b[11] == 0xff) {
    return "IPv4-mapped addresses (::ffff:0:0/96) are not on-link IPv6 addresses";
  }
  return {};
}

Result<Ipv6> parse_endpoint_ipv6(std::string_view text) {
  auto ip = parse_ipv6(text);
  if (!ip) {
    return ip.error();
  }
  if (auto why = ipv6_endpoint_refusal(*ip); !why.empty()) {
    return make_error("bad IPv6 address '{}': {}", text, why);
  }
  return ip;
}

Result<IpAddress> parse_neighbour_ip(std::string_view text) {
  if (text.find(':') == std::string_view::npos) {
    auto ip = parse_unicast_ipv4(text);
    if (!ip) {
      return ip.error();
    }
    return IpAddress{*ip};
  }
  auto ip = parse_endpoint_ipv6(text);
  if (!ip) {
    return ip.error();
  }
  return IpAddress{*ip};
}

std::string format_ip(const IpAddress& ip) {
  if (const auto* v4 = std::get_if<Ipv4>(&ip)) {
    return format_ipv4(*v4);
  }
  return format_ipv6(std::get<Ipv6>(ip));
}

Result<std::uint32_t> check_vni(std::uint32_t vni) {
  if (vni < kMinVni || vni > kMaxVni) {
    return make_error("bad VNI {}: must be {}..{}", vni, kMinVni, kMaxVni);
  }
  return vni;
}

}  // namespace ferry::dp_api
