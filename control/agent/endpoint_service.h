// EndpointService: what this host does with cluster networks and its own
// endpoints, in typed values, whichever front end asks: `ferryctl` (the
// admin API, admin_api.h), Docker's NetworkDriver and IpamDriver
// (docker_backend.h), a CNI plugin. Front ends translate their wire form
// into the requests below and the results back; they never see the agent's
// tables, allocator or state file.
//
// Every change goes through one StateTransaction (state_transaction.h): the
// new state is saved before the answer, and a step that fails after the save
// (wiring a veth, publishing the endpoint's record) puts back exactly what
// the request changed. So each call either completes or changes nothing.
//
// Endpoints are named on this host (AttachRequest::name; Docker's endpoint
// ID for Docker's). Attach, detach and check are idempotent by name, which
// is what CNI's ADD/DEL/CHECK need (the name derived from the container id
// and interface name, cni_endpoint_name()).
//
// Loop thread only. Answers that wait for another host (an address from
// space it donates) come through a callback on a later loop turn.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/mac_address.h"
#include "common/result.h"
#include "control/agent/cluster_mtu.h"
#include "control/agent/config.h"
#include "control/agent/local_state.h"
#include "control/agent/network.h"
#include "control/agent/state_transaction.h"
#include "control/gossip/clock.h"
#include "control/gossip/endpoint_table.h"
#include "control/gossip/table_db.h"
#include "control/ipam/allocator.h"

namespace ferry::agent {

class ReconcilerControl;

// ---- networks ----

struct NetworkRequest {
  std::string name;
  IpPrefix subnet;                   // IPv4, host bits clear
  std::optional<IpPrefix> subnet6;   // IPv6, host bits clear
  std::optional<std::uint32_t> vni;  // absent: derived from the name (or the existing network's)
  std::map<std::string, std::string> options;
};

struct NetworkResult {
  NetworkRecord record;
  bool created = false;  // false: the same definition existed (idempotent create)
};

// A front end's own network bound to a cluster network (a Docker network,
// by its NetworkID): the cluster network is found by name, else by VNI, else
// created with the subnets given.
struct BindRequest {
  std::string id;                    // the front end's network id, unique on this host
  std::string network;               // cluster network name ("": by VNI)
  std::optional<std::uint32_t> vni;  // required when `network` is empty
  IpPrefix subnet;
  std::optional<IpPrefix> subnet6;
  std::string pool_id;  // the address pools the front end hands out from ("" if none)
  std::string pool6_id;
  std::vector<IpAddress> reserved;  // reservations the network itself uses (Docker's aux addresses)
};

// ---- endpoints ----

// One step: allocate, record, wire, publish (ferryctl attach, CNI ADD).
struct AttachRequest {
  std::string network;
  std::string name;        // unique on this host, 1..64 bytes
  std::string netns_path;  // the container's network namespace
  std::string container_ifname = "eth0";
  std::optional<IpAddress> ip;   // wanted addresses; absent: any free one
  std::optional<IpAddress> ip6;  // only for a network with an IPv6 subnet
  // Where to wire it when the namespace came as a file descriptor
  // (/proc/self/fd/N, open until `done` runs); empty: netns_path. netns_path
  // is then the caller's name for it, kept in the record (CNI_NETNS).
  std::string wire_netns_path;
  std::string owner;  // LocalEndpoint::owner
};

struct AttachResult {
  LocalEndpoint endpoint;
  bool created = false;  // false: it existed with the same network and namespace
};

// Two steps, as Docker does it: create (addresses chosen by the front end's
// IPAM, nothing wired), then join (a veth for a sandbox), leave, delete.
struct CreateEndpointRequest {
  std::string binding;  // BindRequest::id
  std::string id;       // the endpoint id (Docker's EndpointID)
  std::optional<IpPrefix> ip;
  std::optional<IpPrefix> ip6;
  std::optional<MacAddress> mac;  // absent: derived from the id
};

enum class PortState : std::uint8_t { kNotJoined, kPending, kProgrammed };
const char* port_state_name(PortState state);

// ---- address pools (an IPAM front end: Docker's IpamDriver) ----

struct PoolRequest {
  std::string id;  // the front end's pool id; the same id again is the same pool
  IpPrefix subnet;
  // Serial allocation (Docker's com.docker.network.ipam.serial): a released
  // address is not handed out again until the pool's cursor wraps
  // (ipam::Order). Fixed by the pool's first request.
  bool serial = false;
};

class EndpointService {
 public:
  // The collaborators outlive the service. `changed` runs after every
  // change that alters what the data plane should hold.
  EndpointService(const Config& config, StateStore store, gossip::TableDb& tables, gossip::EndpointTable& endpoints,
                  ipam::Allocator& ipam, const ReconcilerControl& reconciler, std::function<void()> changed);

  // Publishes this host's endpoint MTU to the other hosts (after each
  // health reply of the data plane) and warns when theirs differ.
  void publish_mtu();
  [[nodiscard]] const ClusterMtu& cluster_mtu() const { return mtu_; }

  // After a restart: republishes this host's networks and endpoints, wires
  // again the endpoints it made (ferryctl, CNI) whose namespace still
  // exists, forgets those whose namespace is gone, and frees allocations no
  // endpoint uses (a crash between the allocator's write and the state's).
  Result<void> restore();

  [[nodiscard]] const LocalState& state() const { return store_.state(); }
  [[nodiscard]] NetworkView network_view() const;

  // ---- networks ----
  Result<NetworkResult> create_network(const NetworkRequest& request);
  Result<void> remove_network(const std::string& name);
  Result<NetworkRecord> bind_network(const BindRequest& request);
  Result<void> unbind_network(const std::string& id);

  // ---- endpoints ----
  void attach(const AttachRequest& request, const std::function<void(Result<AttachResult>)>& done);
  // Unwires and forgets `name`; with `missing_ok` an unknown name is done
  // already (CNI DEL). Endpoints of a two-step front end are refused.
  Result<void> detach(const std::string& name, bool missing_ok = false);
  // The endpoint `name` exists in `network` with `netns_path` and its veth
  // is in place (CNI CHECK).
  Result<LocalEndpoint> check(const std::string& name, const std::string& network, const std::string& netns_path);

  Result<LocalEndpoint> create_endpoint(const CreateEndpointRequest& request);
  Result<LocalEndpoint> join(const std::string& binding, const std::string& id, const std::string& netns_path);
  Result<void> leave(const std::string& binding, const std::string& id);
  Result<void> delete_endpoint(const std::string& binding, const std::string& id);
  [[nodiscard]] const LocalEndpoint* find(const std::string& binding, const std::string& id) const;
  [[nodiscard]] PortState port_state(const LocalEndpoint& ep) const;
  // Endpoints of `network` across the cluster (gossiped records).
  [[nodiscard]] std::size_t cluster_endpoints(const std::string& network) const;

  // ---- address pools ----
  // Adds a reference to the pool `request.id` (made on the first); returns
  // the references. A request whose allocation order differs from the pool's
  // is refused.
  Result<std::uint32_t> request_pool(const PoolRequest& request);
  Result<void> release_pool(const std::string& id);
  // Reserves an address of the pool's cluster network (`wanted`, or any
  // free one: serially when the pool is serial or `serial` asks for it,
  // else the lowest free), kept until release_address() or, when no
  // endpoint or network uses it within Config::docker_claim_timeout,
  // expire_unclaimed().
  void request_address(const std::string& pool_id, std::optional<IpAddress> wanted,
                       const std::function<void(Result<IpAddress>)>& done, bool serial = false);
  Result<void> release_address(const std::string& pool_id, const IpAddress& address);

  // ---- upkeep (the agent's loop) ----
  // A change of the gossiped tables: remembers networks this host keeps
  // alive whose record went away (reassert_networks()).
  void on_table_change(const gossip::Change& change);
  // Writes again the records of networks this host keeps alive that left
  // with a dead host; forgets those removed on purpose.
  void reassert_networks();
  // Makes the address pool of every active network (each family).
  void ensure_pools(const NetworkView& view);
  // Releases reservations unused for Config::docker_claim_timeout.
  void expire_unclaimed();
  // Two-step (Docker) endpoints whose interface has been out of any
  // container for Config::docker_orphan_timeout (no Leave came: Docker
  // removed the sandbox while this agent was down): withdrawn, forgotten,
  // their addresses released (endpoint_service_orphans.cc). `now` is the
  // agent's clock; call it periodically.
  void reap_vanished_endpoints(gossip::TimePoint now);
  // Logs allocations found in space another host now owns.
  void check_conflicts();
  // No endpoint and no reservation here: the free space may be handed over.
  [[nodiscard]] bool holds_addresses() const;

 private:
  using AddressDone = std::function<void(Result<IpAddress>)>;
  // Keeps `name` in this host's networks from the current view; false when
  // it is not active.
  bool hold_network(StateTransaction& tx, const std::string& name);
  // An address of `network`'s pool of one family; `handle` names the holder
  // in the allocator ("": a reservation).
  void allocate_address(const std::string& network, bool v6, const std::string& handle, std::optional<IpAddress> wanted,
                        AddressDone done, ipam::Order order = ipam::Order::kFirstFree);
  void release_address_of(const std::string& network, const IpAddress& address);
  void release_everywhere(const IpPrefix& subnet, const IpAddress& address);
  // The pool of `network` that holds the allocation `address` ("" if none).
  std::string pool_of(const std::string& network, const IpAddress& address) const;
  // Addresses inside `subnet` that endpoints of `network` show, local or
  // gossiped. Another network with the same subnet is another address
  // space: its endpoints do not count.
  std::set<IpAddress> used_addresses(const std::string& network, const IpPrefix& subnet) const;
  // The endpoint in `network` (this host's or one gossip knows) that uses
  // `mac`, as "endpoint ID (host)"; nullopt when the MAC is free there.
  std::optional<std::string> mac_owner(const std::string& network, const MacAddress& mac) const;
  void release_orphans();
  void forget_vanished(const std::string& name);
  void finish_attach(const AttachRequest& request, const std::string& id, const IpAddress& ip,
                     const std::optional<IpAddress>& ip6, const std::function<void(Result<AttachResult>)>& done);
  Result<void> publish(const LocalEndpoint& ep);
  Result<void> unwire(const LocalEndpoint& before);
  void forget_unused_network(StateTransaction& tx, const std::string& name);
  // The MTU of a new endpoint of `network`: --endpoint-mtu when given, else
  // the smallest endpoint MTU the network's hosts publish (cluster_mtu.h).
  unsigned endpoint_mtu(const std::string& network) const;
  // This host's own: --endpoint-mtu, else its data plane's (0: not known yet).
  unsigned local_endpoint_mtu() const;
  bool container_offloads() const;

  const Config& config_;
  StateStore store_;
  gossip::TableDb& tables_;
  gossip::EndpointTable& endpoints_;
  ipam::Allocator& ipam_;
  const ReconcilerControl& reconciler_;
  std::function<void()> changed_;
  ClusterMtu mtu_;
  std::set<std::string> reassert_;
  std::size_t conflicts_seen_ = 0;
  // Joined two-step endpoints seen out of any container, since when; and
  // those seen in their container since the agent started.
  std::map<std::string, gossip::TimePoint> orphans_;
  std::set<std::string> seen_in_container_;
};

// The IPAM pool of one family of a network: "NAME@DIGEST" (IPv4) or
// "NAME@DIGEST/6", the digest over the network's origin and subnet.
std::string pool_name(const NetworkEntry& entry, bool v6);
// The first host address of a subnet (10.10.0.1, fd00::1): the gateway.
IpAddress first_host(const IpPrefix& subnet);
// CNI's endpoint identity (container id, interface name) as a local name.
std::string cni_endpoint_name(std::string_view container_id, std::string_view ifname);

}  // namespace ferry::agent
