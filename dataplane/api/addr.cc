#include "dataplane/api/addr.h"

#include <fmt/format.h>

#include "common/ip_address.h"
#include "dataplane/api/typed.h"

namespace ferry::dp_api {

namespace {

Ipv4 to_ipv4(const ferry::IpAddress& ip) {
  const auto& b = ip.bytes;
  return Ipv4{std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3]};
}

// "ADDR/LEN" through common/ip_address.h's parse_prefix, the address of the
// wanted family (parsed alone first, for its family's message); a bare
// address is a host route when allowed.
template <typename Prefix, typename Parse>
Result<Prefix> parse_prefix_of(std::string_view text, bool allow_bare, ferry::Family family, std::string_view form,
                               Parse parse) {
  const std::uint8_t max_length = family == ferry::Family::kIPv4 ? 32 : 128;
  const auto slash = text.find('/');
  if (slash == std::string_view::npos && !allow_bare) return make_error("bad prefix '{}': expected {}/LEN", text, form);
  // The address first, for the family's own message.
  auto ip = parse(text.substr(0, slash));
  if (!ip) return ip.error();
  if (slash == std::string_view::npos) return Prefix{*ip, max_length};
  auto prefix = ferry::parse_prefix(text);
  if (!prefix || prefix->address.family != family) {
    return make_error("bad prefix '{}': the length after '/' must be 0..{}", text, max_length);
  }
  return Prefix{*ip, static_cast<std::uint8_t>(prefix->prefix_length)};
}

}  // namespace

Result<Ipv4> parse_ipv4(std::string_view text) {
  auto ip = ferry::parse_ip(text);
  if (!ip || ip->family != ferry::Family::kIPv4) {
    return make_error("bad IPv4 address '{}': expected A.B.C.D, four numbers 0..255 without leading zeros", text);
  }
  return to_ipv4(*ip);
}

std::string format_ipv4(Ipv4 ip) { return to_ip(ip).to_string(); }

Result<Ipv4Prefix> parse_ipv4_prefix(std::string_view text, bool allow_bare) {
  return parse_prefix_of<Ipv4Prefix>(text, allow_bare, ferry::Family::kIPv4, "A.B.C.D", parse_ipv4);
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
  return parse_prefix_of<Ipv6Prefix>(text, allow_bare, ferry::Family::kIPv6, "ADDR", parse_ipv6);
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

ferry::IpAddress to_ip(Ipv4 ip) {
  ferry::IpAddress out;
  for (std::size_t i = 0; i < 4; ++i) out.bytes[i] = static_cast<std::uint8_t>(ip.value >> (24 - 8 * i));
  return out;
}

ferry::IpAddress to_ip(const Ipv6& ip) { return ferry::IpAddress{ferry::Family::kIPv6, ip.bytes}; }

ferry::IpAddress to_ip(const IpAddress& ip) {
  return std::visit([](const auto& v) { return to_ip(v); }, ip);
}

ferry::IpPrefix to_prefix(const Ipv4Prefix& prefix) { return ferry::IpPrefix{to_ip(prefix.addr), prefix.length}; }

ferry::IpPrefix to_prefix(const Ipv6Prefix& prefix) { return ferry::IpPrefix{to_ip(prefix.addr), prefix.length}; }

Result<Ipv4> unicast_ipv4(const ferry::IpAddress& ip) {
  if (ip.family != ferry::Family::kIPv4) return make_error("bad IPv4 address '{}': not IPv4", ip.to_string());
  const Ipv4 v4 = to_ipv4(ip);
  if (v4.value == 0 || v4.value >= 0xe0000000U) {
    return make_error("bad IPv4 address '{}': not a unicast host address", ip.to_string());
  }
  return v4;
}

Result<IpAddress> neighbour_ip(const ferry::IpAddress& ip) {
  if (ip.family == ferry::Family::kIPv4) {
    auto v4 = unicast_ipv4(ip);
    if (!v4) return v4.error();
    return IpAddress{*v4};
  }
  const Ipv6 v6{ip.bytes};
  if (auto why = ipv6_endpoint_refusal(v6); !why.empty()) {
    return make_error("bad IPv6 address '{}': {}", ip.to_string(), why);
  }
  return IpAddress{v6};
}

}  // namespace ferry::dp_api
