// Value types shared by the pipeline, its tables and the API layer: MAC,
// IPv4 and IPv6 addresses, VNIs, port ids. Plain, trivially copyable, no DPDK.
// Text forms go through common/ (mac_address.h, ip_address.h).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/mac_address.h"

namespace ferry::dataplane {

// A port of the data plane: a small dense id (0 .. kMaxPorts-1) that indexes
// the pipeline's per-port arrays. ferry-dataplane assigns them (its PortTable,
// dataplane/app/port.h) and maps each to a DPDK ethdev or a socket port; it
// is not an ethdev id.
using PortId = std::uint16_t;
inline constexpr PortId kInvalidPort = 0xffff;

// Most ports the pipeline tracks (array sizes): the uplink and up to 31
// endpoints. Also RTE_MAX_ETHPORTS of the DPDK we build against (checked by
// a static_assert in pipeline.cc), so every ethdev fits too.
inline constexpr std::size_t kMaxPorts = 32;

// Burst size of the run loop: process_* take at most this many frames.
inline constexpr std::uint16_t kBurstSize = 32;

// Frames the run loop takes from the uplink at once (process_uplink cuts
// them into bursts of kBurstSize): decapsulated TCP segments are coalesced
// across all of them, so a UDP_GRO batch of up to 64 datagrams becomes one
// super-frame.
inline constexpr std::uint16_t kUplinkBurstSize = 64;

// VXLAN Network Identifier: 24 bits (RFC 7348 §5).
using Vni = std::uint32_t;
inline constexpr Vni kMaxVni = (1u << 24) - 1;

// A 48-bit MAC address in wire order: the common type (common/mac_address.h),
// named as the pipeline and its tables have always named it. to_u64() is the
// key form of the MAC and neighbour tables.
using MacAddr = ::ferry::MacAddress;

// An IPv4 address in HOST byte order (10.1.0.1 == 0x0a010001).
struct Ipv4Addr {
  std::uint32_t value = 0;

  static std::optional<Ipv4Addr> parse(std::string_view text);  // dotted quad
  [[nodiscard]] std::string to_string() const;

  friend constexpr bool operator==(const Ipv4Addr&, const Ipv4Addr&) = default;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 false positive on a defaulted <=> (llvm#53961)
  friend constexpr auto operator<=>(const Ipv4Addr&, const Ipv4Addr&) = default;
};

// An IPv6 address in wire order (RFC 4291).
struct Ipv6Addr {
  std::array<std::uint8_t, 16> bytes{};

  // Any text form inet_pton accepts ("fd00::1", "2001:db8::a:b"); no zone, no prefix.
  static std::optional<Ipv6Addr> parse(std::string_view text);
  // RFC 5952 canonical text (lowercase, longest zero run as "::").
  [[nodiscard]] std::string to_string() const;

  [[nodiscard]] constexpr bool is_unspecified() const { return *this == Ipv6Addr{}; }
  [[nodiscard]] constexpr bool is_loopback() const {
    Ipv6Addr one;
    one.bytes[15] = 1;
    return *this == one;
  }
  [[nodiscard]] constexpr bool is_multicast() const { return bytes[0] == 0xff; }  // ff00::/8
  [[nodiscard]] constexpr bool is_link_local() const {                            // fe80::/10
    return bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80;
  }
  // ::/96 (IPv4-compatible, deprecated) or ::ffff:0:0/96 (IPv4-mapped).
  [[nodiscard]] constexpr bool is_ipv4_embedded() const {
    for (std::size_t i = 0; i < 10; ++i) {
      if (bytes[i] != 0) return false;
    }
    return (bytes[10] == 0 && bytes[11] == 0) || (bytes[10] == 0xff && bytes[11] == 0xff);
  }
  // What an endpoint (a container's veth) may own and a neighbour entry may
  // name: global or unique-local unicast. Everything else is refused at the
  // API: :: and multicast are never a host's address, link-local (fe80::/10)
  // is always allowed as a source and resolved by flooded ND, ::1 and
  // IPv4-embedded forms never appear on a link.
  [[nodiscard]] constexpr bool is_endpoint_unicast() const {
    return !is_unspecified() && !is_loopback() && !is_multicast() && !is_link_local() && !is_ipv4_embedded();
  }

  friend constexpr bool operator==(const Ipv6Addr&, const Ipv6Addr&) = default;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 false positive on a defaulted <=> (llvm#53961)
  friend constexpr auto operator<=>(const Ipv6Addr&, const Ipv6Addr&) = default;
};

}  // namespace ferry::dataplane
