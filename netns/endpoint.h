// Endpoints: a container's veth pair, made and unmade in one call.
//
// Two modes:
//  - create_endpoint(): full wiring into a given namespace (ferryctl attach,
//    tests, the demo). The container side is created directly inside the
//    target namespace under its final name (eth0), with MAC and MTU, in the
//    same netlink request as the host side; then addresses, links up,
//    routes, TX checksum offload off.
//  - create_docker_veth(): Docker mode. Both ends are created in the host
//    namespace; the container side keeps a temporary name (derive_peer_ifname)
//    with MAC, MTU and offload set, because Docker itself moves SrcName into
//    the container, renames it and assigns its addresses.
//
// Both are idempotent: creating an endpoint that exists returns it
// (created = false) when it matches the spec and fails with EEXIST naming the
// difference when it does not; a failure half-way deletes the veth pair again.
// delete_endpoint() removes the pair and is fine when it is already gone.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "netns/address.h"
#include "netns/rtnl.h"

namespace ferry::netns {

// What both modes share.
struct VethSpec {
  std::string endpoint_id;  // required; names the host side
  std::string host_ifname;  // optional override of derive_host_ifname(endpoint_id)
  // Where the host side lives; empty: the calling thread's namespace.
  std::string host_netns_path;
  std::optional<MacAddress> mac;  // container side; unset: the kernel picks one
  unsigned mtu = 1500;            // both sides
  // TX checksum offload on the container side. Off by default: a userspace
  // data plane reading the host side would otherwise see partial checksums
  // (docs/netns.md).
  bool container_tx_checksum = false;

  [[nodiscard]] std::string resolved_host_ifname() const;
};

struct EndpointSpec : VethSpec {
  std::string netns_path;  // the container: /var/run/netns/NAME or /proc/PID/ns/net
  std::string container_ifname = "eth0";
  std::vector<IpPrefix> addresses;       // on the container side
  std::vector<IpAddress> gateways;       // at most one per family: default routes
  std::vector<Route> routes;             // static routes through the container side
  std::vector<IpPrefix> host_addresses;  // on the host side (tests, ferryctl attach without a data plane)
  bool loopback_up = true;               // bring the container's lo up too

  // Every check that needs no kernel: names, MTU (>= 1280 with IPv6), MAC,
  // addresses, one gateway per family and a matching address family.
  [[nodiscard]] Result<void> validate() const;
};

struct DockerVethSpec : VethSpec {
  std::string peer_ifname;  // optional override of derive_peer_ifname(endpoint_id)

  [[nodiscard]] std::string resolved_peer_ifname() const;
  [[nodiscard]] Result<void> validate() const;
};

struct Endpoint {
  std::string host_ifname;
  int host_ifindex = 0;
  std::string container_ifname;  // Docker mode: the temporary name (or "" once Docker moved it)
  int container_ifindex = 0;     // in the container's namespace (Docker mode: the host's, until moved)
  MacAddress mac;                // container side
  unsigned mtu = 0;
  bool created = false;  // false: it already existed and matched the spec
};

Result<Endpoint> create_endpoint(const EndpointSpec& spec);
Result<Endpoint> create_docker_veth(const DockerVethSpec& spec);

// Deletes the endpoint's veth pair (both ends, wherever the container side
// is). Returns false when there was nothing to delete.
Result<bool> delete_endpoint(const VethSpec& spec);

}  // namespace ferry::netns
