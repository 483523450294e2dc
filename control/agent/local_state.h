// What this host owns and must survive a restart: the networks it keeps
// alive, its local endpoints, the Docker networks bound here and the address
// pools handed to Docker. Held as typed values; text only in the state file,
// one JSON document in the state directory (state.json) whose "version"
// names its format (kStateVersion; every earlier version still loads),
// replaced atomically before a request is answered (state_transaction.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "common/ip_address.h"
#include "common/mac_address.h"
#include "common/result.h"
#include "control/agent/network.h"

namespace ferry::agent {

// The state file's format: 1 had no Docker fields, 2 no IPv6 fields, 3 no
// pool allocation order; 4 is today's. decode() reads all of them; encode()
// writes kStateVersion.
inline constexpr int kStateVersion = 4;

struct LocalEndpoint {
  std::string id;               // cluster-unique endpoint id (random hex)
  std::string name;             // operator's name, unique on this host
  std::string network;          // cluster network name
  MacAddress mac;               // container side
  IpPrefix ip;                  // interface address with the subnet's length: 10.10.0.18/24
  std::optional<IpPrefix> ip6;  // fd00:10::12/64; absent when the network has no IPv6
  std::string host_ifname;
  std::string container_ifname = "eth0";
  std::string netns_path;  // the container's namespace
  unsigned mtu = 1450;     // the data plane's endpoint MTU when the endpoint was made
  // The container side keeps the kernel's default offloads (TX checksum,
  // TSO): what the data plane's endpoint port type allowed when the endpoint
  // was made (dp_api::container_keeps_offloads); false: TX checksum off.
  bool container_offloads = false;
  // Docker endpoints (plugin): created by CreateEndpoint, wired by Join
  // (joined), unwired by Leave. ferryctl attach endpoints are always joined.
  bool docker = false;
  std::string docker_network;  // Docker's NetworkID
  bool joined = true;
  // The front end that made it and alone may remove it, beyond ferryctl and
  // Docker: "cni:NAME" for the CNI plugin under the network configuration
  // NAME (its GC reclaims only those). Empty: ferryctl attach or Docker.
  std::string owner;
  bool operator==(const LocalEndpoint&) const = default;
};

// A Docker network on this host and the cluster network it is bound to.
struct DockerNetwork {
  std::string id;        // Docker's NetworkID
  std::string network;   // cluster network name
  std::string pool_id;   // the IPAM pool of its IPv4 data ("" if none of ours)
  std::string pool6_id;  // the IPAM pool of its IPv6 data ("" if none)
  bool operator==(const DockerNetwork&) const = default;
};

// An IPAM pool handed to Docker (RequestPool), reference-counted, with the
// endpoint addresses Docker reserved in it (RequestAddress).
struct IpamPool {
  std::string id;   // "FerryLocal/10.10.0.0/24", "FerryLocal/fd00:10::/64"
  IpPrefix subnet;  // IPv4 or IPv6, host bits clear
  std::uint32_t refs = 0;
  std::set<IpAddress> addresses;  // reserved endpoint addresses
  // Reserved addresses no endpoint (CreateEndpoint) or network (an aux
  // address in CreateNetwork) has used yet, with the wall-clock time of the
  // reservation (ms since the epoch). One still unused after
  // Config::docker_claim_timeout is released: Docker never got the reply.
  std::map<IpAddress, std::int64_t> unclaimed{};
  // Serial allocation (Docker's com.docker.network.ipam.serial), from the
  // pool's first RequestPool; absent (false) in files before version 4.
  bool serial = false;
  [[nodiscard]] bool v6() const { return subnet.family() == Family::kIPv6; }
  bool operator==(const IpamPool&) const = default;
};

struct LocalState {
  // Networks this host keeps alive (created here, bound to a Docker network
  // here, or with endpoints here), by name: republished on start and
  // re-asserted when their record disappears with a dead host.
  std::map<std::string, NetworkRecord> networks;
  std::map<std::string, LocalEndpoint> endpoints;        // by name
  std::map<std::string, DockerNetwork> docker_networks;  // by Docker NetworkID
  std::map<std::string, IpamPool> pools;                 // by PoolID

  [[nodiscard]] const LocalEndpoint* find_endpoint_id(const std::string& id) const;

  [[nodiscard]] std::string encode() const;
  static Result<LocalState> decode(std::string_view text);

  // state_dir/state.json; a missing file is an empty state.
  static Result<LocalState> load(const std::string& state_dir);
  [[nodiscard]] Result<void> save(const std::string& state_dir) const;
  bool operator==(const LocalState&) const = default;
};

}  // namespace ferry::agent
