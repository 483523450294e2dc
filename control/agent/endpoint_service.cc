// EndpointService: networks, bindings and endpoints. Address pools and the
// distributed IPAM are in endpoint_service_addresses.cc.
#include "control/agent/endpoint_service.h"

#include <sodium.h>
#include <sys/stat.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "control/agent/reconciler.h"
#include "dataplane/api/port_types.h"
#include "netns/endpoint.h"
#include "netns/naming.h"
#include "netns/rtnl.h"

namespace ferry::agent {

namespace {

std::string random_id() {
  unsigned char bytes[16];
  randombytes_buf(bytes, sizeof bytes);
  std::string out;
  for (unsigned char b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// The endpoint's interface addresses (IPv4, then IPv6 if any).
std::vector<IpPrefix> addresses_of(const LocalEndpoint& ep) {
  std::vector<IpPrefix> out{ep.ip};
  if (ep.ip6) out.push_back(*ep.ip6);
  return out;
}

Result<netns::EndpointSpec> endpoint_spec(const LocalEndpoint& ep) {
  netns::EndpointSpec spec;
  spec.container_tx_checksum = ep.container_offloads;
  spec.endpoint_id = ep.id;
  spec.host_ifname = ep.host_ifname;
  spec.netns_path = ep.netns_path;
  spec.container_ifname = ep.container_ifname;
  spec.mtu = ep.mtu;
  spec.mac = ep.mac;
  // Each address with the network's gateway (its first host address, which
  // the allocator keeps free) as default route, as Docker containers get it.
  for (const IpPrefix& addr : addresses_of(ep)) {
    spec.addresses.push_back(addr);
    const IpAddress gw = first_host(addr.network());
    if (gw != addr.address) spec.gateways.push_back(gw);
  }
  if (auto v = spec.validate(); !v) return v.error();
  return spec;
}

// The endpoint's host-side veth exists (true when that cannot be told).
bool host_side_exists(const LocalEndpoint& ep) {
  auto rt = netns::open_rtnl("");
  if (!rt) return true;
  auto link = rt->find_link(ep.host_ifname);
  return !link || link->has_value();
}

netns::VethSpec veth_of(const LocalEndpoint& ep) {
  netns::VethSpec veth;
  veth.endpoint_id = ep.id;
  veth.host_ifname = ep.host_ifname;
  return veth;
}

// The length of `subnet` (CIDR text of a validated record).
unsigned length_of(const std::string& subnet) {
  auto p = parse_prefix(subnet);
  return p ? p->prefix_length : 0;
}

}  // namespace

const char* port_state_name(PortState state) {
  switch (state) {
    case PortState::kNotJoined:
      return "not joined";
    case PortState::kPending:
      return "pending";
    case PortState::kProgrammed:
      return "programmed";
  }
  return "?";
}

std::string cni_endpoint_name(std::string_view container_id, std::string_view ifname) {
  // The local name is at most 64 bytes: enough of the container id to be
  // unique on a host, and the interface.
  return fmt::format("cni-{}-{}", container_id.substr(0, 40), ifname.substr(0, 15));
}

EndpointService::EndpointService(const Config& config, StateStore store, gossip::TableDb& tables,
                                 gossip::EndpointTable& endpoints, ipam::Allocator& ipam,
                                 const ReconcilerControl& reconciler, std::function<void()> changed)
    : config_(config),
      store_(std::move(store)),
      tables_(tables),
      endpoints_(endpoints),
      ipam_(ipam),
      reconciler_(reconciler),
      changed_(std::move(changed)),
      mtu_(tables, config.node_name) {}

// ---- restore ----

Result<void> EndpointService::restore() {
  release_orphans();
  // Republish what this host owns (TableDb reasserts it past any stale copy).
  for (const auto& [name, net] : state().networks) {
    if (auto r = tables_.put("", kNetworkTable, name, net.encode()); !r) return r.error().wrap("restore network");
  }
  std::vector<std::string> gone;
  std::vector<LocalEndpoint> vanished;
  for (const auto& [name, ep] : state().endpoints) {
    if (ep.docker || !ep.owner.empty()) {
      // Docker and CNI runtimes own these containers' lives (Leave, DEL, GC);
      // the veth outlives the agent, so a joined endpoint is only republished.
      // (A CNI namespace path may not even be visible in the agent's mount
      // namespace: the runtime handed it over as a file descriptor.) A CNI
      // endpoint whose veth is gone lost its container while this agent was
      // down (a DEL then got "try again later" and runtimes seldom retry):
      // dropped, its addresses released.
      if (!ep.owner.empty() && !host_side_exists(ep)) {
        spdlog::warn("endpoint {} ({}, {}): its veth {} is gone, dropping it", name, ep.id, ep.owner, ep.host_ifname);
        vanished.push_back(ep);
        continue;
      }
      if (ep.joined) {
        if (auto r = publish(ep); !r) return r.error().wrap("restore endpoint " + name);
      }
      continue;
    }
    if (!path_exists(ep.netns_path)) {
      spdlog::warn("endpoint {} ({}): namespace {} is gone, dropping it", name, ep.id, ep.netns_path);
      gone.push_back(name);
      continue;
    }
    auto spec = endpoint_spec(ep);
    if (!spec) return spec.error().wrap("restore endpoint " + name);
    if (auto made = netns::create_endpoint(*spec); !made) {
      spdlog::warn("endpoint {} ({}): re-creating its veth failed: {}", name, ep.id, made.error().message);
    }
    if (auto r = publish(ep); !r) return r.error().wrap("restore endpoint " + name);
  }
  for (const LocalEndpoint& ep : vanished) gone.push_back(ep.name);
  if (!gone.empty()) {
    StateTransaction tx(store_);
    for (const auto& name : gone) tx.erase_endpoint(name);
    if (auto r = tx.persist(); !r) return r.error();
    tx.commit();
  }
  for (const LocalEndpoint& ep : vanished) {
    for (const IpPrefix& addr : addresses_of(ep)) release_address_of(ep.network, addr.address);
  }
  spdlog::info("restored {} networks and {} endpoints from {}", state().networks.size(), state().endpoints.size(),
               store_.dir());
  return ok();
}

// ---- networks ----

NetworkView EndpointService::network_view() const {
  std::vector<NetworkEntry> entries;
  tables_.store().for_each_in("", [&](const gossip::TableKey& k, const gossip::StoredEntry& e) {
    if (k.table != kNetworkTable || !e.live()) return;
    auto rec = NetworkRecord::decode(e.version.value);
    if (!rec || rec->name != k.key) return;
    // Conflicts are decided by the first creation, whoever re-asserted since.
    const bool has_origin = !rec->origin_host.empty();
    entries.push_back(
        {*rec, has_origin ? rec->origin_lamport : e.version.lamport, has_origin ? rec->origin_host : e.version.owner});
  });
  return resolve_networks(std::move(entries));
}

bool EndpointService::hold_network(StateTransaction& tx, const std::string& name) {
  if (state().networks.count(name) != 0) return true;
  const NetworkView view = network_view();
  const NetworkEntry* e = view.find(name);
  if (e == nullptr) return false;
  NetworkRecord rec = e->record;
  if (rec.origin_host.empty()) {
    rec.origin_host = e->owner;
    rec.origin_lamport = e->lamport;
  }
  tx.network(name) = rec;
  return true;
}

Result<NetworkResult> EndpointService::create_network(const NetworkRequest& request) {
  NetworkRecord rec;
  rec.name = request.name;
  rec.subnet = request.subnet.to_string();
  if (request.subnet6) rec.subnet6 = request.subnet6->to_string();
  rec.options = request.options;
  const NetworkView view = network_view();
  if (request.vni) {
    rec.vni = *request.vni;
  } else if (const NetworkEntry* same = view.find(rec.name)) {
    rec.vni = same->record.vni;  // repeated create without a VNI: idempotent
  } else {
    rec.vni = pick_vni(view, rec.name);
  }
  if (auto r = check_create(view, rec); !r) return r.error();
  if (view.find(rec.name) != nullptr) return NetworkResult{rec, false};
  rec.origin_host = config_.node_name;
  rec.origin_lamport = tables_.lamport() + 1;  // the put below
  StateTransaction tx(store_);
  tx.network(rec.name) = rec;
  if (auto r = tx.persist(); !r) return r.error();
  if (auto r = tables_.put("", kNetworkTable, rec.name, rec.encode()); !r) return r.error();
  tx.commit();
  spdlog::info("network {} created: VNI {}, subnet {} {}", rec.name, rec.vni, rec.subnet, rec.subnet6);
  changed_();
  return NetworkResult{rec, true};
}

Result<void> EndpointService::remove_network(const std::string& name) {
  const NetworkView view = network_view();
  if (view.find(name) == nullptr) return make_error("no network {}", name);
  const auto eps = endpoints_.list(name);
  if (!eps.empty()) {
    return make_error("network {} still has {} endpoints (first: {} on {})", name, eps.size(), eps.front().endpoint_id,
                      eps.front().owner);
  }
  for (const auto& [n, ep] : state().endpoints) {
    if (ep.network == name) return make_error("network {} still has local endpoint {}", name, n);
  }
  for (const auto& [id, d] : state().docker_networks) {
    if (d.network == name) return make_error("network {} is bound to Docker network {}", name, id);
  }
  StateTransaction tx(store_);
  tx.erase_network(name);
  if (auto r = tx.persist(); !r) return r;
  tx.commit();
  if (auto r = tables_.remove("", kNetworkTable, name); !r) return r;
  spdlog::info("network {} removed", name);
  changed_();
  return ok();
}

Result<NetworkRecord> EndpointService::bind_network(const BindRequest& request) {
  if (auto it = state().docker_networks.find(request.id); it != state().docker_networks.end()) {
    return make_error("network {} already exists (bound to cluster network {})", request.id, it->second.network);
  }
  const std::string subnet_text = request.subnet.to_string();
  const std::string subnet6_text = request.subnet6 ? request.subnet6->to_string() : std::string();
  const NetworkView view = network_view();
  std::string name = request.network;
  const NetworkEntry* existing = nullptr;
  if (!name.empty()) {
    existing = view.find(name);
  } else if (request.vni) {
    existing = view.find_vni(*request.vni);
    name = existing != nullptr ? existing->record.name : fmt::format("vni{}", *request.vni);
  } else {
    return make_error("network {}: no cluster network named, by name or VNI", request.id);
  }
  NetworkRecord rec;
  if (existing != nullptr) {
    rec = existing->record;
    if (request.vni && rec.vni != *request.vni) {
      return make_error("network {} has VNI {}, not {}", name, rec.vni, *request.vni);
    }
    if (rec.subnet != subnet_text) return make_error("network {} has subnet {}, not {}", name, rec.subnet, subnet_text);
    if (!subnet6_text.empty() && rec.subnet6 != subnet6_text) {
      return make_error("network {} has {}, not IPv6 subnet {}", name,
                        rec.subnet6.empty() ? "no IPv6 subnet" : "IPv6 subnet " + rec.subnet6, subnet6_text);
    }
  } else {
    rec.name = name;
    rec.subnet = subnet_text;
    rec.subnet6 = subnet6_text;
    rec.vni = request.vni ? *request.vni : pick_vni(view, name);
    if (auto r = check_create(view, rec); !r) return r.error();
    rec.origin_host = config_.node_name;
    rec.origin_lamport = tables_.lamport() + 1;  // the put below
  }

  StateTransaction tx(store_);
  tx.binding(request.id) = DockerNetwork{request.id, name, request.pool_id, request.pool6_id};
  for (const IpAddress& a : request.reserved) {
    for (const auto& [id, pool] : state().pools) {
      if (pool.unclaimed.count(a) != 0) tx.pool(id).unclaimed.erase(a);
    }
  }
  if (existing != nullptr) {
    hold_network(tx, name);
  } else {
    tx.network(name) = rec;
  }
  if (auto r = tx.persist(); !r) return r.error();
  if (existing == nullptr) {
    if (auto r = tables_.put("", kNetworkTable, name, rec.encode()); !r) return r.error();
    spdlog::info("network {} created for Docker network {}: VNI {}, subnet {} {}", name, request.id, rec.vni,
                 rec.subnet, rec.subnet6);
  } else {
    spdlog::info("Docker network {} bound to cluster network {} (VNI {}, subnet {})", request.id, name, rec.vni,
                 rec.subnet);
  }
  tx.commit();
  changed_();
  return rec;
}

void EndpointService::forget_unused_network(StateTransaction& tx, const std::string& name) {
  bool used = false;
  for (const auto& [id, d] : state().docker_networks) used = used || d.network == name;
  for (const auto& [n, ep] : state().endpoints) used = used || ep.network == name;
  if (auto h = state().networks.find(name);
      !used && h != state().networks.end() && h->second.origin_host != config_.node_name) {
    tx.erase_network(name);
  }
}

Result<void> EndpointService::unbind_network(const std::string& id) {
  auto it = state().docker_networks.find(id);
  if (it == state().docker_networks.end()) return make_error("unknown network {}", id);
  for (const auto& [n, ep] : state().endpoints) {
    if (ep.docker && ep.docker_network == id) return make_error("network {} still has endpoint {}", id, ep.id);
  }
  const std::string name = it->second.network;
  StateTransaction tx(store_);
  tx.erase_binding(id);
  // Stop keeping the cluster network alive when nothing here uses it and it
  // was not created here (created ones stay until `ferryctl net rm`).
  forget_unused_network(tx, name);
  if (auto r = tx.persist(); !r) return r;
  tx.commit();
  spdlog::info("Docker network {} unbound from cluster network {}", id, name);
  changed_();
  return ok();
}

// ---- endpoints ----

unsigned EndpointService::local_endpoint_mtu() const {
  if (config_.endpoint_mtu != 0) return config_.endpoint_mtu;
  const unsigned dp = reconciler_.status().endpoint_mtu;
  return dp >= kMinEndpointMtu ? dp : 0;
}

unsigned EndpointService::endpoint_mtu(const std::string& network) const {
  if (config_.endpoint_mtu != 0) return config_.endpoint_mtu;
  const unsigned local = local_endpoint_mtu();
  return mtu_.for_network(network, local != 0 ? local : 1450);
}

void EndpointService::publish_mtu() {
  if (auto r = mtu_.publish(local_endpoint_mtu()); !r) spdlog::warn("{}", r.error().message);
}

bool EndpointService::container_offloads() const {
  return dp_api::container_keeps_offloads(reconciler_.status().endpoint_driver);
}

Result<void> EndpointService::publish(const LocalEndpoint& ep) {
  if (!tables_.in_network(ep.network)) {
    if (auto r = tables_.join_network(ep.network); !r) return r;
  }
  auto vtep = parse_ip(config_.advertise_address);
  if (!vtep) return vtep.error();
  return endpoints_.put(
      gossip::EndpointRecord::make(ep.network, ep.id, ep.mac, ep.ip, ep.ip6, *vtep, config_.node_name));
}

void EndpointService::attach(const AttachRequest& request, const std::function<void(Result<AttachResult>)>& done) {
  const std::string& name = request.name;
  if (name.empty() || name.size() > 64) return done(make_error("endpoint name must be 1..64 bytes"));
  const std::string& wire_path = request.wire_netns_path.empty() ? request.netns_path : request.wire_netns_path;
  if (!path_exists(wire_path)) return done(make_error("namespace {} does not exist", request.netns_path));
  const NetworkView view = network_view();
  const NetworkEntry* net = view.find(request.network);
  if (net == nullptr) return done(make_error("no network {}", request.network));
  if (auto it = state().endpoints.find(name); it != state().endpoints.end()) {
    if (it->second.network == request.network && it->second.netns_path == request.netns_path) {
      return done(AttachResult{it->second, false});
    }
    return done(make_error("endpoint {} already exists (network {}, namespace {})", name, it->second.network,
                           it->second.netns_path));
  }
  const bool v6 = !net->record.subnet6.empty();
  if (!v6 && request.ip6) return done(make_error("network {} has no IPv6 subnet", request.network));
  const std::string id = random_id();
  // The endpoint id is the allocations' handle. The IPv4 address first, then
  // the IPv6 one if the network has a subnet6; either answer may wait for a
  // donation (another host's space), then the checks are made again.
  allocate_address(request.network, false, id, request.ip, [this, request, id, v6, done](Result<IpAddress> ip) {
    if (!ip) return done(make_error("network {}: {}", request.network, ip.error().message));
    if (!v6) return finish_attach(request, id, *ip, std::nullopt, done);
    allocate_address(request.network, true, id, request.ip6,
                     [this, request, id, done, ip4 = *ip](Result<IpAddress> ip6) {
                       if (!ip6) {
                         release_address_of(request.network, ip4);
                         return done(make_error("network {}: {}", request.network, ip6.error().message));
                       }
                       finish_attach(request, id, ip4, *ip6, done);
                     });
  });
}

void EndpointService::finish_attach(const AttachRequest& request, const std::string& id, const IpAddress& ip,
                                    const std::optional<IpAddress>& ip6,
                                    const std::function<void(Result<AttachResult>)>& done) {
  auto fail = [&](const std::string& message) {
    release_address_of(request.network, ip);
    if (ip6) release_address_of(request.network, *ip6);
    done(make_error("{}", message));
  };
  const NetworkView view = network_view();
  const NetworkEntry* net = view.find(request.network);
  if (net == nullptr) return fail(fmt::format("no network {}", request.network));
  if (state().endpoints.count(request.name) != 0) {
    return fail(fmt::format("endpoint {} already exists", request.name));
  }
  LocalEndpoint ep;
  ep.id = id;
  ep.name = request.name;
  ep.network = request.network;
  // The MAC follows the network and the address, so a container attached
  // again under the same address keeps it and peers' neighbour caches stay
  // right.
  ep.mac = netns::derive_mac(request.network, ip);
  if (auto owner = mac_owner(request.network, ep.mac)) {
    return fail(fmt::format("MAC address {} (derived from {}) is already used in network {} by endpoint {}",
                            ep.mac.to_string(), ip.to_string(), request.network, *owner));
  }
  ep.ip = IpPrefix{ip, length_of(net->record.subnet)};
  if (ip6) ep.ip6 = IpPrefix{*ip6, length_of(net->record.subnet6)};
  ep.host_ifname = netns::derive_host_ifname(ep.id);
  ep.container_ifname = request.container_ifname;
  ep.netns_path = request.netns_path;
  ep.mtu = endpoint_mtu(request.network);
  ep.container_offloads = container_offloads();
  ep.owner = request.owner;
  auto spec = endpoint_spec(ep);
  if (!spec) return fail(spec.error().message);
  if (!request.wire_netns_path.empty()) spec->netns_path = request.wire_netns_path;
  // Durable first: a crash after this point finds the record and re-creates
  // (idempotently) or drops the endpoint on restart.
  StateTransaction tx(store_);
  tx.endpoint(ep.name) = ep;
  hold_network(tx, ep.network);
  if (auto r = tx.persist(); !r) return fail(r.error().message);
  if (auto made = netns::create_endpoint(*spec); !made) {
    tx.roll_back();
    return fail(fmt::format("wiring {}: {}", ep.netns_path, made.error().message));
  }
  if (auto r = publish(ep); !r) {
    (void)netns::delete_endpoint(*spec);
    tx.roll_back();
    return fail(r.error().message);
  }
  tx.commit();
  spdlog::info("endpoint {} ({}) attached: network {}, {}{}{} {}, MTU {}, host side {}", ep.name, ep.id, ep.network,
               ep.ip.to_string(), ep.ip6 ? " " : "", ep.ip6 ? ep.ip6->to_string() : "", ep.mac.to_string(), ep.mtu,
               ep.host_ifname);
  changed_();
  done(AttachResult{ep, true});
}

Result<void> EndpointService::detach(const std::string& name, bool missing_ok) {
  auto it = state().endpoints.find(name);
  if (it == state().endpoints.end()) {
    if (missing_ok) return ok();
    return make_error("no local endpoint {}", name);
  }
  if (it->second.docker) {
    return make_error("endpoint {} belongs to Docker (network {}): remove its container instead", name,
                      it->second.docker_network);
  }
  const LocalEndpoint ep = it->second;
  if (auto r = endpoints_.remove(ep.network, ep.id); !r) {
    spdlog::warn("endpoint {}: withdrawing the record: {}", name, r.error().message);
  }
  StateTransaction tx(store_);
  tx.erase_endpoint(name);
  if (auto r = tx.persist(); !r) return r;
  tx.commit();
  changed_();  // the port leaves the data plane before its veth goes away
  if (auto r = netns::delete_endpoint(veth_of(ep)); !r) {
    spdlog::warn("endpoint {}: deleting veth {}: {}", name, ep.host_ifname, r.error().message);
  }
  for (const IpPrefix& addr : addresses_of(ep)) release_address_of(ep.network, addr.address);
  spdlog::info("endpoint {} ({}) detached from network {}", name, ep.id, ep.network);
  return ok();
}

Result<LocalEndpoint> EndpointService::check(const std::string& name, const std::string& network,
                                             const std::string& netns_path) {
  auto it = state().endpoints.find(name);
  if (it == state().endpoints.end()) return make_error("no local endpoint {}", name);
  const LocalEndpoint& ep = it->second;
  if (ep.network != network) return make_error("endpoint {} is in network {}, not {}", name, ep.network, network);
  if (ep.netns_path != netns_path) {
    return make_error("endpoint {} is in namespace {}, not {}", name, ep.netns_path, netns_path);
  }
  if (!ep.joined) return make_error("endpoint {} is not wired", name);
  if (!path_exists(ep.netns_path)) return make_error("namespace {} of endpoint {} is gone", ep.netns_path, name);
  return ep;
}

const LocalEndpoint* EndpointService::find(const std::string& binding, const std::string& id) const {
  for (const auto& [name, ep] : state().endpoints) {
    if (ep.docker && ep.id == id && ep.docker_network == binding) return &ep;
  }
  return nullptr;
}

PortState EndpointService::port_state(const LocalEndpoint& ep) const {
  if (!ep.joined) return PortState::kNotJoined;
  return reconciler_.applied().ports.count(ep.host_ifname) != 0 ? PortState::kProgrammed : PortState::kPending;
}

std::size_t EndpointService::cluster_endpoints(const std::string& network) const {
  return endpoints_.list(network).size();
}

Result<LocalEndpoint> EndpointService::create_endpoint(const CreateEndpointRequest& request) {
  auto bound = state().docker_networks.find(request.binding);
  if (bound == state().docker_networks.end()) return make_error("unknown network {}", request.binding);
  if (const LocalEndpoint* dup = state().find_endpoint_id(request.id)) {
    return make_error("endpoint {} already exists (network {})", request.id, dup->network);
  }
  const std::string net_name = bound->second.network;
  const NetworkView view = network_view();
  const NetworkEntry* net = view.find(net_name);
  if (net == nullptr) return make_error("cluster network {} is not active (removed, or in conflict)", net_name);
  if (!request.ip) {
    return make_error("no IPv4 address given: Ferry networks need Ferry's IPAM driver (--ipam-driver ferry)");
  }
  if (request.ip6 && net->record.subnet6.empty()) {
    return make_error("IPv6 address {} given but network {} has no IPv6 subnet", request.ip6->to_string(), net_name);
  }
  // Each address must lie in its subnet, with its length, and be unused.
  for (const bool v6 : {false, true}) {
    const std::optional<IpPrefix>& addr = v6 ? request.ip6 : request.ip;
    if (!addr) continue;
    const std::string& subnet = net->record.subnet_of(v6);
    auto prefix = parse_prefix(subnet);
    if (!prefix || addr->family() != prefix->family() || addr->prefix_length != prefix->prefix_length ||
        !prefix->contains(addr->address)) {
      return make_error("address {} is not in network {}'s subnet {}", addr->to_string(), net_name, subnet);
    }
    if (used_addresses(net_name, *prefix).count(addr->address) != 0) {
      return make_error("address {} is already used by another endpoint", addr->address.to_string());
    }
  }
  LocalEndpoint ep;
  ep.id = request.id;
  // Short local name (ferryctl endpoints); the whole ID if the short one is taken.
  ep.name = "dk-" + request.id.substr(0, 12);
  if (state().endpoints.count(ep.name) != 0) ep.name = "dk-" + request.id;
  if (state().endpoints.count(ep.name) != 0) return make_error("endpoint name {} is taken", ep.name);
  ep.network = net_name;
  // A front end sends no MAC unless the user gave one (Docker's
  // --mac-address): derive it from the network and the address, so a
  // container re-created under the same address keeps its MAC and peers'
  // neighbour caches stay right.
  ep.mac = request.mac ? *request.mac : netns::derive_mac(net_name, request.ip->address);
  if (auto owner = mac_owner(net_name, ep.mac)) {
    return make_error("MAC address {} is already used in network {} by endpoint {}{}", ep.mac.to_string(), net_name,
                      *owner, request.mac ? "" : " (it is the MAC derived from this address)");
  }
  ep.ip = *request.ip;
  ep.ip6 = request.ip6;
  ep.mtu = endpoint_mtu(net_name);
  ep.container_offloads = container_offloads();
  ep.host_ifname = netns::derive_host_ifname(ep.id);
  ep.container_ifname = netns::derive_peer_ifname(ep.id);
  ep.docker = true;
  ep.docker_network = request.binding;
  ep.joined = false;

  StateTransaction tx(store_);
  tx.endpoint(ep.name) = ep;
  hold_network(tx, net_name);
  // The addresses Docker reserved are used now.
  for (const IpPrefix& addr : addresses_of(ep)) {
    for (const auto& [id, pool] : state().pools) {
      if (pool.unclaimed.count(addr.address) != 0) tx.pool(id).unclaimed.erase(addr.address);
    }
  }
  if (auto r = tx.persist(); !r) return r.error();
  tx.commit();
  spdlog::info("endpoint {} ({}) created: network {}, {} {} {}, MTU {}", ep.name, ep.id, net_name, ep.ip.to_string(),
               ep.ip6 ? ep.ip6->to_string() : "", ep.mac.to_string(), ep.mtu);
  return ep;
}

Result<void> EndpointService::unwire(const LocalEndpoint& before) {
  StateTransaction tx(store_);
  LocalEndpoint& ep = tx.endpoint(before.name);
  ep.joined = false;
  if (ep.docker) ep.netns_path.clear();
  if (auto r = tx.persist(); !r) return r;
  tx.commit();
  if (auto r = endpoints_.remove(before.network, before.id); !r) {
    spdlog::warn("endpoint {}: withdrawing the record: {}", before.name, r.error().message);
  }
  changed_();  // the port leaves the data plane before its veth goes away
  if (auto r = netns::delete_endpoint(veth_of(before)); !r) {
    spdlog::warn("endpoint {}: deleting veth {}: {}", before.name, before.host_ifname, r.error().message);
  }
  return ok();
}

Result<LocalEndpoint> EndpointService::join(const std::string& binding, const std::string& id,
                                            const std::string& netns_path) {
  const LocalEndpoint* found = find(binding, id);
  if (found == nullptr) return make_error("unknown endpoint {} in network {}", id, binding);
  if (found->joined) {
    if (found->netns_path == netns_path) return *found;  // a retried Join
    return make_error("endpoint {} is already joined to sandbox {}", id, found->netns_path);
  }
  netns::DockerVethSpec spec;
  spec.endpoint_id = found->id;
  spec.host_ifname = found->host_ifname;
  spec.peer_ifname = found->container_ifname;
  spec.mac = found->mac;
  spec.mtu = found->mtu;
  spec.container_tx_checksum = found->container_offloads;
  if (auto v = spec.validate(); !v) return v.error();

  // Durable first: a crash after this point finds the endpoint joined and
  // republishes it on restart.
  StateTransaction tx(store_);
  LocalEndpoint& ep = tx.endpoint(found->name);
  ep.joined = true;
  ep.netns_path = netns_path;
  LocalEndpoint joined = ep;
  if (auto r = tx.persist(); !r) return r.error();
  if (auto made = netns::create_docker_veth(spec); !made) {
    tx.roll_back();
    return make_error("creating the veth pair for endpoint {}: {}", id, made.error().message);
  }
  if (auto r = publish(joined); !r) {
    (void)netns::delete_endpoint(spec);
    tx.roll_back();
    return r.error();
  }
  tx.commit();
  spdlog::info("endpoint {} ({}) joined sandbox {}: interface {} (host side {})", joined.name, joined.id, netns_path,
               joined.container_ifname, joined.host_ifname);
  changed_();
  return joined;
}

Result<void> EndpointService::leave(const std::string& binding, const std::string& id) {
  const LocalEndpoint* ep = find(binding, id);
  if (ep == nullptr) return make_error("unknown endpoint {} in network {}", id, binding);
  if (!ep->joined) return make_error("endpoint {} is not joined", id);
  const LocalEndpoint before = *ep;
  if (auto r = unwire(before); !r) return r;
  spdlog::info("endpoint {} ({}) left its sandbox", before.name, id);
  return ok();
}

Result<void> EndpointService::delete_endpoint(const std::string& binding, const std::string& id) {
  const LocalEndpoint* ep = find(binding, id);
  if (ep == nullptr) return make_error("unknown endpoint {} in network {}", id, binding);
  const LocalEndpoint before = *ep;
  if (before.joined) {
    if (auto r = unwire(before); !r) return r;
  }
  StateTransaction tx(store_);
  tx.erase_endpoint(before.name);
  if (auto r = tx.persist(); !r) return r;
  tx.commit();
  spdlog::info("endpoint {} ({}) deleted", before.name, id);
  changed_();
  return ok();
}

// ---- upkeep ----

void EndpointService::on_table_change(const gossip::Change& change) {
  if (!change.key.network.empty() || change.key.table != kNetworkTable || change.kind != gossip::ChangeKind::kDelete) {
    return;
  }
  // A purge (the version's owner died) of a network this host keeps alive:
  // written again by this host. A tombstone (net rm): forgotten here too.
  // Both in reassert_networks(), before the next refresh.
  if (state().networks.count(change.key.key) != 0) reassert_.insert(change.key.key);
}

void EndpointService::reassert_networks() {
  if (reassert_.empty()) return;
  std::set<std::string> names;
  names.swap(reassert_);
  for (const auto& name : names) {
    auto it = state().networks.find(name);
    if (it == state().networks.end() || tables_.get("", kNetworkTable, name)) continue;
    const gossip::StoredEntry* e = tables_.store().find("", kNetworkTable, name);
    if (e == nullptr) continue;
    if (e->version.deleted) {
      // Removed (ferryctl net rm, which refuses while endpoints exist): stop
      // keeping it unless something here still uses it.
      bool used = false;
      for (const auto& [id, d] : state().docker_networks) used = used || d.network == name;
      for (const auto& [n, ep] : state().endpoints) used = used || ep.network == name;
      if (used) continue;
      StateTransaction tx(store_);
      tx.erase_network(name);
      if (auto r = tx.persist(); !r) {
        spdlog::warn("network {}: forgetting it: {}", name, r.error().message);
        continue;
      }
      tx.commit();
      continue;
    }
    spdlog::info("network {}: its record left with host {}; this host keeps it alive", name, e->version.owner);
    if (auto r = tables_.put("", kNetworkTable, name, it->second.encode()); !r) {
      spdlog::warn("network {}: re-asserting: {}", name, r.error().message);
    }
  }
}

bool EndpointService::holds_addresses() const {
  if (!state().endpoints.empty()) return true;
  for (const auto& [id, pool] : state().pools) {
    if (!pool.addresses.empty()) return true;  // Docker still holds addresses here
  }
  return false;
}

}  // namespace ferry::agent
