// What this host owns and must survive a restart: the networks it created
// and its local endpoints. Saved as one JSON file in the state directory
// (state.json), replaced atomically before a request is answered.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "common/result.h"
#include "control/agent/network.h"

namespace ferry::agent {

struct LocalEndpoint {
  std::string id;        // cluster-unique endpoint id (random hex)
  std::string name;      // operator's name, unique on this host
  std::string network;   // cluster network name
  std::string mac;       // container side
  std::string ip_cidr;   // "10.10.0.18/24"
  std::string ip6_cidr;  // "fd00:10::12/64"; "" when the network has no IPv6
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
  std::string id;      // "FerryLocal/10.10.0.0/24", "FerryLocal/fd00:10::/64"
  std::string subnet;  // canonical CIDR, IPv4 or IPv6
  std::uint32_t refs = 0;
  std::set<std::string> addresses;  // reserved endpoint addresses, canonical, no length
  // Reserved addresses no endpoint (CreateEndpoint) or network (an aux
  // address in CreateNetwork) has used yet, with the wall-clock time of the
  // reservation (ms since the epoch). One still unused after
  // Config::docker_claim_timeout is released: Docker never got the reply.
  std::map<std::string, std::int64_t> unclaimed{};
  [[nodiscard]] bool v6() const { return subnet.find(':') != std::string::npos; }
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
