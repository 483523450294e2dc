// Endpoint port types and what each needs of a container's veth: the one
// place that decides whether a container keeps the kernel's default offloads
// (TX checksum, and with it TSO/GSO) or must turn TX checksum offload off.
//
//   vnet       AF_PACKET with virtio-net headers: super-frames and partial
//              checksums cross whole, so the container keeps its defaults.
//   af_packet  DPDK's net_af_packet PMD (no virtio-net header) and
//   af_xdp     net_af_xdp: a partial checksum would reach the wire as it is
//              and a super-frame cannot be carried, so TX checksum goes off.
//
// Used by ferry-dataplane (health reports its default type), the agent (it
// wires containers for the data plane's type), ferryctl and the tests.
#pragma once

#include <string_view>

namespace ferry::dp_api {

inline constexpr std::string_view kDriverVnet = "vnet";
inline constexpr std::string_view kDriverAfPacket = "af_packet";
inline constexpr std::string_view kDriverAfXdp = "af_xdp";

// True when a container whose veth is an endpoint port of type `driver`
// keeps the kernel's default offloads; false (TX checksum offload off) for
// every other type, and for an unknown or empty one (works with any port,
// only slower).
[[nodiscard]] constexpr bool container_keeps_offloads(std::string_view driver) { return driver == kDriverVnet; }

}  // namespace ferry::dp_api
