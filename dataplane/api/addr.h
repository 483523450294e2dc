// Text forms of the addresses the API carries (MAC, IPv4, IPv4/LEN) and the
// VNI range, parsed strictly: the API server and ferryctl share these so a
// value ferryctl accepts is one the server accepts.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace ferry::dp_api {

inline constexpr std::uint32_t kMinVni = 1;
inline constexpr std::uint32_t kMaxVni = (1U << 24) - 1;

struct MacAddr {
  std::array<std::uint8_t, 6> bytes{};

  [[nodiscard]] bool is_multicast() const { return (bytes[0] & 0x01) != 0; }
  [[nodiscard]] bool is_zero() const {
    for (auto b : bytes) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }
  friend bool operator==(const MacAddr&, const MacAddr&) = default;
  friend auto operator<=>(const MacAddr&, const MacAddr&) = default;
};

// IPv4 address in host byte order (10.0.0.1 == 0x0a000001).
struct Ipv4 {
  std::uint32_t value = 0;
  friend bool operator==(const Ipv4&, const Ipv4&) = default;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 false positive on a defaulted <=> (llvm#53961)
  friend auto operator<=>(const Ipv4&, const Ipv4&) = default;
};

struct Ipv4Prefix {
  Ipv4 addr;
  std::uint8_t length = 32;

  // True when `other` is inside this prefix (same subnet).
  [[nodiscard]] bool contains(Ipv4 other) const {
    if (length == 0) {
      return true;
    }
    const std::uint32_t mask = length >= 32 ? 0xffffffffU : ~(0xffffffffU >> length);
    return (addr.value & mask) == (other.value & mask);
  }
  friend bool operator==(const Ipv4Prefix&, const Ipv4Prefix&) = default;
};

// "02:00:0a:00:00:01" (also accepts '-' separators); any case.
Result<MacAddr> parse_mac(std::string_view text);
std::string format_mac(const MacAddr& mac);

// A unicast endpoint MAC: not multicast/broadcast, not all zeros.
Result<MacAddr> parse_unicast_mac(std::string_view text);

// Dotted quad, exactly four decimal parts 0..255, no leading '+' or spaces.
Result<Ipv4> parse_ipv4(std::string_view text);
std::string format_ipv4(Ipv4 ip);

// "A.B.C.D/LEN"; a bare address when `allow_bare` (length 32).
Result<Ipv4Prefix> parse_ipv4_prefix(std::string_view text, bool allow_bare = false);
std::string format_ipv4_prefix(const Ipv4Prefix& prefix);

// An IPv4 unicast host address: not 0.0.0.0, not multicast/broadcast.
Result<Ipv4> parse_unicast_ipv4(std::string_view text);

Result<std::uint32_t> check_vni(std::uint32_t vni);

}  // namespace ferry::dp_api
