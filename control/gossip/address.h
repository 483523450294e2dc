// Address: an IPv4 address and port, the underlay address of a gossip node.
// Cheap to copy and hash; the simulator hands out 10.x.y.z addresses.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace ferry::gossip {

struct Address {
  uint32_t ip = 0;    // host byte order: 10.0.0.1 is 0x0a000001
  uint16_t port = 0;  // host byte order

  [[nodiscard]] std::string to_string() const;  // "10.0.0.1:7946"
  // Parses "a.b.c.d:port" (port 1..65535).
  [[nodiscard]] static Result<Address> parse(std::string_view text);

  [[nodiscard]] bool is_set() const { return ip != 0 || port != 0; }
  [[nodiscard]] uint64_t key() const { return (uint64_t{ip} << 16) | port; }
  friend bool operator==(const Address&, const Address&) = default;
};

}  // namespace ferry::gossip

// Formats as to_string() does, without a temporary string: log lines that
// are filtered out cost nothing.
template <>
struct fmt::formatter<ferry::gossip::Address> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }  // no format spec
  template <typename Context>
  auto format(const ferry::gossip::Address& a, Context& ctx) const {
    return fmt::format_to(ctx.out(), "{}.{}.{}.{}:{}", a.ip >> 24, (a.ip >> 16) & 0xff, (a.ip >> 8) & 0xff, a.ip & 0xff,
                          a.port);
  }
};

template <>
struct std::hash<ferry::gossip::Address> {
  size_t operator()(const ferry::gossip::Address& a) const noexcept { return std::hash<uint64_t>{}(a.key()); }
};
