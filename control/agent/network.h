// Cluster networks: records in the gossiped table "networks" of the global
// network, keyed by name. The record names the host and Lamport time of its
// first creation (origin); the gossip owner of the current version may be
// any host that keeps the network alive (docs/operations.md). Conflicts
// (two names claiming one VNI, possible when two hosts create at once) are
// resolved the same way on every host: the earliest definition (Lamport
// time, then owner name) is active, the others are listed as conflicting and
// never programmed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"
#include "control/gossip/table_store.h"
#include "dataplane/api/addr.h"

namespace ferry::agent {

inline constexpr const char* kNetworkTable = "networks";

struct NetworkRecord {
  std::string name;
  std::uint32_t vni = 0;
  std::string subnet;  // IPv4 CIDR, network address ("10.10.0.0/24")
  std::map<std::string, std::string> options;
  std::string subnet6{};  // optional IPv6 CIDR, canonical ("fd00:10::/64"); "" if none
  // First creation: kept across re-assertions by other hosts, so conflict
  // resolution and `ferryctl networks` see the original definition.
  std::uint64_t origin_lamport = 0;
  std::string origin_host{};

  // Checks name (1..64 bytes of [A-Za-z0-9_.-]), VNI range, subnet (prefix
  // /8../30, host bits clear) and subnet6 if set (see canonical_subnet6).
  [[nodiscard]] Result<void> validate() const;
  [[nodiscard]] std::string encode() const;  // JSON
  static Result<NetworkRecord> decode(std::string_view bytes);
  [[nodiscard]] dp_api::Ipv4Prefix prefix() const;  // valid after validate()
  // Same name, VNI, subnets and options (the origin is not compared).
  [[nodiscard]] bool same_definition(const NetworkRecord& other) const {
    return name == other.name && vni == other.vni && subnet == other.subnet && subnet6 == other.subnet6 &&
           options == other.options;
  }
  // The subnet of one family ("" when the network has no IPv6).
  [[nodiscard]] const std::string& subnet_of(bool v6) const { return v6 ? subnet6 : subnet; }
  // The same, typed; nullopt when the network has none (or, before
  // validate(), when the text does not parse).
  [[nodiscard]] std::optional<IpPrefix> subnet_prefix(bool v6) const;
  bool operator==(const NetworkRecord&) const = default;
};

// A stored definition with the version that decides conflicts.
struct NetworkEntry {
  NetworkRecord record;
  gossip::Lamport lamport = 0;
  std::string owner;
};

struct NetworkConflict {
  NetworkEntry entry;
  std::string reason;
};

struct NetworkView {
  std::vector<NetworkEntry> active;  // sorted by name
  std::vector<NetworkConflict> conflicting;

  [[nodiscard]] const NetworkEntry* find(const std::string& name) const;
  [[nodiscard]] const NetworkEntry* find_vni(std::uint32_t vni) const;
};

NetworkView resolve_networks(std::vector<NetworkEntry> entries);

// Whether `wanted` may be created given the current view: an identical
// definition is fine (idempotent create), a different one under the same
// name or another network's VNI is refused, naming the other network.
Result<void> check_create(const NetworkView& view, const NetworkRecord& wanted);

// A VNI for a network created without one: derived from the name (stable),
// moved on past VNIs in use. Range 4096..16777215.
std::uint32_t pick_vni(const NetworkView& view, const std::string& name);

// Parses "10.10.0.0/24" (host bits must be zero) into the canonical form.
Result<std::string> canonical_subnet(std::string_view text);
// The same rules for a parsed subnet: IPv4, prefix /8../30, host bits zero.
Result<IpPrefix> check_subnet(const IpPrefix& subnet);
// The same for an IPv6 subnet: RFC 5952 text, prefix /48../126 (the
// distributed IPAM hands out the first 2^24 addresses at most: docs/ipam.md),
// not link-local, multicast or IPv4-mapped.
Result<std::string> canonical_subnet6(std::string_view text);
Result<IpPrefix> check_subnet6(const IpPrefix& subnet);

}  // namespace ferry::agent
