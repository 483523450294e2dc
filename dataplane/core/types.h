// Value types shared by the pipeline, its tables and the API layer: MAC and
// IPv4 addresses, VNIs, port ids. Plain, trivially copyable, no DPDK.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::dataplane {

// A DPDK ethdev port id (0 .. RTE_MAX_ETHPORTS-1; Debian's DPDK 22.11 is built
// with RTE_MAX_ETHPORTS = 32, so at most 31 endpoint ports beside the uplink).
using PortId = std::uint16_t;
inline constexpr PortId kInvalidPort = 0xffff;

// Most ports the pipeline tracks (array sizes); equals RTE_MAX_ETHPORTS of the
// DPDK we build against (checked by a static_assert in pipeline.cc).
inline constexpr std::size_t kMaxPorts = 32;

// Burst size of the run loop: process_* take at most this many frames.
inline constexpr std::uint16_t kBurstSize = 32;

// VXLAN Network Identifier: 24 bits (RFC 7348 §5).
using Vni = std::uint32_t;
inline constexpr Vni kMaxVni = (1u << 24) - 1;

// A 48-bit MAC address in wire order.
struct MacAddr {
  std::array<std::uint8_t, 6> bytes{};

  // The MAC as the low 48 bits of an integer, first wire byte most significant.
  [[nodiscard]] constexpr std::uint64_t to_u64() const {
    std::uint64_t v = 0;
    for (auto b : bytes) v = (v << 8) | b;
    return v;
  }
  [[nodiscard]] static constexpr MacAddr from_u64(std::uint64_t v) {
    MacAddr m;
    for (int i = 5; i >= 0; --i) {
      m.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v & 0xff);
      v >>= 8;
    }
    return m;
  }
  // Group bit (broadcast or multicast).
  [[nodiscard]] constexpr bool is_multicast() const { return (bytes[0] & 1) != 0; }
  [[nodiscard]] constexpr bool is_zero() const { return to_u64() == 0; }

  // "aa:bb:cc:dd:ee:ff" (also accepts '-' separators); nullopt when malformed.
  static std::optional<MacAddr> parse(std::string_view text);
  [[nodiscard]] std::string to_string() const;

  friend constexpr bool operator==(const MacAddr&, const MacAddr&) = default;
};

// An IPv4 address in HOST byte order (10.1.0.1 == 0x0a010001).
struct Ipv4Addr {
  std::uint32_t value = 0;

  static std::optional<Ipv4Addr> parse(std::string_view text);  // dotted quad
  [[nodiscard]] std::string to_string() const;

  friend constexpr bool operator==(const Ipv4Addr&, const Ipv4Addr&) = default;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 false positive on a defaulted <=> (llvm#53961)
  friend constexpr auto operator<=>(const Ipv4Addr&, const Ipv4Addr&) = default;
};

}  // namespace ferry::dataplane
