#include "dataplane/core/types.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>

namespace ferry::dataplane {

std::optional<MacAddr> MacAddr::parse(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  MacAddr mac;
  for (std::size_t i = 0; i < 6; ++i) {
    const std::size_t at = i * 3;
    if (i > 0 && text[at - 1] != ':' && text[at - 1] != '-') return std::nullopt;
    unsigned value = 0;
    const auto [end, err] = std::from_chars(text.data() + at, text.data() + at + 2, value, 16);
    if (err != std::errc{} || end != text.data() + at + 2) return std::nullopt;
    mac.bytes[i] = static_cast<std::uint8_t>(value);
  }
  return mac;
}

std::string MacAddr::to_string() const {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", bytes[0], bytes[1], bytes[2], bytes[3], bytes[4],
                     bytes[5]);
}

std::optional<Ipv4Addr> Ipv4Addr::parse(std::string_view text) {
  std::uint32_t value = 0;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (p == end || *p != '.') return std::nullopt;
      ++p;
    }
    unsigned octet = 0;
    const auto [next, err] = std::from_chars(p, end, octet, 10);
    if (err != std::errc{} || next == p || next - p > 3 || octet > 255) return std::nullopt;
    value = (value << 8) | octet;
    p = next;
  }
  if (p != end) return std::nullopt;
  return Ipv4Addr{value};
}

std::string Ipv4Addr::to_string() const {
  return fmt::format("{}.{}.{}.{}", value >> 24, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff);
}

std::optional<Ipv6Addr> Ipv6Addr::parse(std::string_view text) {
  // inet_pton needs a terminated string; the longest text form is 45 characters.
  char buf[64];
  if (text.empty() || text.size() >= sizeof(buf)) return std::nullopt;
  text.copy(buf, text.size());
  buf[text.size()] = '\0';
  Ipv6Addr a;
  if (inet_pton(AF_INET6, buf, a.bytes.data()) != 1) return std::nullopt;
  return a;
}

std::string Ipv6Addr::to_string() const {
  // RFC 5952: groups in lowercase hex without leading zeros, the longest run
  // of two or more zero groups (the first of equal runs) written "::".
  std::uint16_t g[8];
  for (std::size_t i = 0; i < 8; ++i) g[i] = static_cast<std::uint16_t>(bytes[2 * i] << 8 | bytes[2 * i + 1]);
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) best = -1;
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    out += fmt::format("{:x}", g[i]);
  }
  return out;
}

}  // namespace ferry::dataplane
