// Interface names: the kernel's rules, and the names (and MAC) Ferry derives
// from an endpoint ID so that the same ID always maps to the same interface
// (retries and restarts find what an earlier call made).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "netns/address.h"

namespace ferry::netns {

// IFNAMSIZ - 1: the longest interface name the kernel accepts.
inline constexpr std::size_t kMaxIfnameLength = 15;

// The kernel's dev_valid_name() rules: 1..15 bytes, not "." or "..", no '/',
// ':' or whitespace; we also refuse non-printable bytes.
Result<void> validate_ifname(std::string_view name);

// A stable 64-bit hash of an endpoint ID (FNV-1a with a final mix). Stable
// across builds and hosts: names derived from it must not change on upgrade.
std::uint64_t endpoint_hash(std::string_view endpoint_id);

// Host-side veth name for an endpoint: "fy" + 12 hex digits of the hash
// (14 characters, 48 bits: a collision needs ~16 million endpoints on a host
// for a one-in-a-million chance).
std::string derive_host_ifname(std::string_view endpoint_id);

// The container side's temporary name while it still sits in the host
// namespace (Docker mode, before Docker moves and renames it): "fc" + the
// same 12 hex digits.
std::string derive_peer_ifname(std::string_view endpoint_id);

// A deterministic, locally administered unicast MAC for an endpoint ID, for
// callers asked to choose one (Docker sends MacAddress ""): 02 followed by
// 40 bits of the hash.
MacAddress derive_mac(std::string_view endpoint_id);

// The MAC of an endpoint that holds `ip` in `network`, for callers asked to
// choose one: 02, one byte of the network name's hash, then the IPv4 address
// (the last 4 bytes of an IPv6 one). A container re-created under the same
// address gets the same MAC, so its peers' cached neighbour entries stay
// right; within one network two addresses never share a MAC (IPv4).
MacAddress derive_mac(std::string_view network, const IpAddress& ip);

// Endpoint IDs: non-empty, at most 256 bytes, printable ASCII.
Result<void> validate_endpoint_id(std::string_view endpoint_id);

}  // namespace ferry::netns
