// Agent: Docker's remote NetworkDriver and IpamDriver, run on the loop
// thread (DockerBackend hands the calls over). Every call either completes
// (state saved before the reply) or changes nothing: each one snapshots
// LocalState and restores it when a later step fails. docs/plugin.md lists
// the semantics method by method.
#include <net/if.h>
#include <spdlog/spdlog.h>

#include <charconv>

#include "common/mac_address.h"
#include "control/agent/agent.h"
#include "control/agent/docker_backend.h"
#include "netns/endpoint.h"
#include "netns/naming.h"

namespace ferry::agent {

namespace pd = plugins::docker;

namespace {

constexpr const char* kNetworkOption = "ferry.network";
constexpr const char* kVniOption = "ferry.vni";

// `address` (canonical text, from the allocator) with the length of `subnet`.
pd::IpPrefix with_length(const std::string& address, const std::string& subnet) {
  auto ip = pd::parse_ip(address);
  auto net = pd::parse_cidr(subnet);
  return pd::IpPrefix{ip ? *ip : pd::IpAddress{}, net ? net->length : std::uint8_t{0}};
}

Result<std::uint32_t> parse_vni_option(const std::string& text) {
  std::uint32_t vni = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, vni);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return make_error("option {}: '{}' is not a decimal VNI", kVniOption, text);
  }
  if (auto v = dp_api::check_vni(vni); !v) return make_error("option {}: {}", kVniOption, v.error().message);
  return vni;
}

bool known_address_space(const std::string& space) {
  return space == kLocalAddressSpace || space == kGlobalAddressSpace;
}

}  // namespace

bool Agent::hold_network(const std::string& name) {
  if (state_.networks.count(name) != 0) return true;
  const NetworkView view = network_view();
  const NetworkEntry* e = view.find(name);
  if (e == nullptr) return false;
  NetworkRecord rec = e->record;
  if (rec.origin_host.empty()) {
    rec.origin_host = e->owner;
    rec.origin_lamport = e->lamport;
  }
  state_.networks[name] = rec;
  return true;
}

LocalEndpoint* Agent::find_endpoint(const std::string& docker_network, const std::string& endpoint_id) {
  for (auto& [name, ep] : state_.endpoints) {
    if (ep.docker && ep.id == endpoint_id && ep.docker_network == docker_network) return &ep;
  }
  return nullptr;
}

std::int64_t Agent::wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Agent::claim(const std::string& address) {
  for (auto& [id, pool] : state_.pools) pool.unclaimed.erase(address);
}

void Agent::expire_unclaimed() {
  if (config_.docker_claim_timeout.count() == 0) return;
  const std::int64_t cutoff = wall_ms() - config_.docker_claim_timeout.count();
  for (auto& [id, pool] : state_.pools) {
    for (auto it = pool.unclaimed.begin(); it != pool.unclaimed.end();) {
      if (it->second > cutoff) {
        ++it;
        continue;
      }
      const std::string address = it->first;
      const LocalState saved = state_;
      pool.addresses.erase(address);
      it = pool.unclaimed.erase(it);
      if (auto r = save_state(); !r) {
        state_ = saved;
        spdlog::warn("IPAM pool {}: releasing unused address {}: {}", id, address, r.error().message);
        return;  // iterators are stale; the next check tries again
      }
      spdlog::warn(
          "IPAM pool {}: address {} was reserved by Docker {} s ago and no endpoint used it (Docker never got the "
          "reply): released",
          id, address, config_.docker_claim_timeout.count() / 1000);
      free_in_allocator(pool.subnet, address);
    }
  }
}

// ---- NetworkDriver ----

Result<void> Agent::docker_create_network(const pd::CreateNetworkRequest& req) {
  if (auto it = state_.docker_networks.find(req.network_id); it != state_.docker_networks.end()) {
    return make_error("network {} already exists (bound to cluster network {})", req.network_id, it->second.network);
  }
  if (req.ipv4_data.size() != 1) {
    return make_error("a Ferry network needs exactly one IPv4 subnet, got {} (docker network create --subnet CIDR)",
                      req.ipv4_data.size());
  }
  if (req.ipv6_data.size() > 1) {
    return make_error("a Ferry network has at most one IPv6 subnet, got {}", req.ipv6_data.size());
  }
  if (req.enable_ipv6 && req.ipv6_data.empty()) {
    return make_error("IPv6 enabled without an IPv6 subnet: give one (docker network create --ipv6 --subnet CIDR6)");
  }
  // Both families' data: canonical subnet, our address space, the gateway
  // (if given) the subnet's first host address.
  std::string subnets[2];
  std::string pool_ids[2];
  for (const bool v6 : {false, true}) {
    const auto& all = v6 ? req.ipv6_data : req.ipv4_data;
    if (all.empty()) continue;
    const pd::IpamData& data = all[0];
    if (!known_address_space(data.address_space)) {
      return make_error("address space '{}' is not Ferry's: use Ferry's IPAM driver (--ipam-driver ferry)",
                        data.address_space);
    }
    auto text =
        v6 ? canonical_subnet6(data.pool.network().to_string()) : canonical_subnet(data.pool.network().to_string());
    if (!text) return text.error();
    const std::string gw = first_host(*text);
    if (data.gateway && data.gateway->address.to_string() != gw) {
      return make_error("gateway {} refused: a Ferry network's gateway is its first host address {}",
                        data.gateway->address.to_string(), gw);
    }
    subnets[v6 ? 1 : 0] = *text;
    pool_ids[v6 ? 1 : 0] = fmt::format("{}/{}", data.address_space, *text);
  }
  const std::string& subnet_text = subnets[0];
  const std::string& subnet6_text = subnets[1];
  std::string name;
  if (auto it = req.generic_options.find(kNetworkOption); it != req.generic_options.end()) name = it->second;
  std::optional<std::uint32_t> vni;
  if (auto it = req.generic_options.find(kVniOption); it != req.generic_options.end()) {
    auto v = parse_vni_option(it->second);
    if (!v) return v.error();
    vni = *v;
  }
  const NetworkView view = network_view();
  const NetworkEntry* existing = nullptr;
  if (!name.empty()) {
    existing = view.find(name);
  } else if (vni) {
    existing = view.find_vni(*vni);
    name = existing != nullptr ? existing->record.name : fmt::format("vni{}", *vni);
  } else {
    return make_error("say which cluster network this is: -o {}=NAME or -o {}=N (the same on every host)",
                      kNetworkOption, kVniOption);
  }
  NetworkRecord rec;
  if (existing != nullptr) {
    rec = existing->record;
    if (vni && rec.vni != *vni) {
      return make_error("network {} has VNI {}, not {}", name, rec.vni, *vni);
    }
    if (rec.subnet != subnet_text) {
      return make_error("network {} has subnet {}, not {}", name, rec.subnet, subnet_text);
    }
    if (!subnet6_text.empty() && rec.subnet6 != subnet6_text) {
      return make_error("network {} has {}, not IPv6 subnet {}", name,
                        rec.subnet6.empty() ? "no IPv6 subnet" : "IPv6 subnet " + rec.subnet6, subnet6_text);
    }
  } else {
    rec.name = name;
    rec.subnet = subnet_text;
    rec.subnet6 = subnet6_text;
    rec.vni = vni ? *vni : pick_vni(view, name);
    if (auto r = check_create(view, rec); !r) return r.error();
    rec.origin_host = config_.node_name;
    rec.origin_lamport = tables_->lamport() + 1;  // the put below
  }

  const LocalState saved = state_;
  state_.docker_networks[req.network_id] = DockerNetwork{req.network_id, name, pool_ids[0], pool_ids[1]};
  // Aux addresses (--aux-address) were reserved for the network itself.
  for (const auto* data : {&req.ipv4_data, &req.ipv6_data}) {
    for (const auto& d : *data) {
      for (const auto& [aux, prefix] : d.aux_addresses) claim(prefix.address.to_string());
    }
  }
  if (existing != nullptr) {
    hold_network(name);
  } else {
    state_.networks[name] = rec;
  }
  if (auto r = save_state(); !r) {
    state_ = saved;
    return r.error();
  }
  if (existing == nullptr) {
    if (auto r = tables_->put("", kNetworkTable, name, rec.encode()); !r) {
      state_ = saved;
      (void)save_state();
      return r.error();
    }
    spdlog::info("network {} created for Docker network {}: VNI {}, subnet {} {}", name, req.network_id, rec.vni,
                 rec.subnet, rec.subnet6);
  } else {
    spdlog::info("Docker network {} bound to cluster network {} (VNI {}, subnet {})", req.network_id, name, rec.vni,
                 rec.subnet);
  }
  refresh();
  return ok();
}

Result<void> Agent::docker_delete_network(const pd::NetworkRef& req) {
  auto it = state_.docker_networks.find(req.network_id);
  if (it == state_.docker_networks.end()) return make_error("unknown network {}", req.network_id);
  for (const auto& [n, ep] : state_.endpoints) {
    if (ep.docker && ep.docker_network == req.network_id) {
      return make_error("network {} still has endpoint {}", req.network_id, ep.id);
    }
  }
  const std::string name = it->second.network;
  const LocalState saved = state_;
  state_.docker_networks.erase(it);
  // Stop keeping the cluster network alive when nothing here uses it and it
  // was not created here (created ones stay until `ferryctl net rm`).
  bool used = false;
  for (const auto& [id, d] : state_.docker_networks) used = used || d.network == name;
  for (const auto& [n, ep] : state_.endpoints) used = used || ep.network == name;
  if (auto h = state_.networks.find(name);
      !used && h != state_.networks.end() && h->second.origin_host != config_.node_name) {
    state_.networks.erase(h);
  }
  if (auto r = save_state(); !r) {
    state_ = saved;
    return r.error();
  }
  spdlog::info("Docker network {} unbound from cluster network {}", req.network_id, name);
  refresh();
  return ok();
}

Result<pd::EndpointInterface> Agent::docker_create_endpoint(const pd::CreateEndpointRequest& req) {
  auto bound = state_.docker_networks.find(req.network_id);
  if (bound == state_.docker_networks.end()) return make_error("unknown network {}", req.network_id);
  if (const LocalEndpoint* dup = state_.find_endpoint_id(req.endpoint_id)) {
    return make_error("endpoint {} already exists (network {})", req.endpoint_id, dup->network);
  }
  const std::string net_name = bound->second.network;
  const NetworkView view = network_view();
  const NetworkEntry* net = view.find(net_name);
  if (net == nullptr) return make_error("cluster network {} is not active (removed, or in conflict)", net_name);
  if (!req.interface.address) {
    return make_error("no IPv4 address given: Ferry networks need Ferry's IPAM driver (--ipam-driver ferry)");
  }
  if (req.interface.address_ipv6 && net->record.subnet6.empty()) {
    return make_error("IPv6 address {} given but network {} has no IPv6 subnet",
                      req.interface.address_ipv6->to_string(), net_name);
  }
  // Each address must lie in its subnet, with its length, and be unused.
  for (const bool v6 : {false, true}) {
    const std::optional<pd::IpPrefix>& addr = v6 ? req.interface.address_ipv6 : req.interface.address;
    if (!addr) continue;
    const std::string& subnet = net->record.subnet_of(v6);
    auto prefix = pd::parse_cidr(subnet);
    if (!prefix || addr->address.family != prefix->address.family || addr->length != prefix->length ||
        !prefix->contains(addr->address)) {
      return make_error("address {} is not in network {}'s subnet {}", addr->to_string(), net_name, subnet);
    }
    if (used_addresses(net_name, subnet).count(addr->address.to_string()) != 0) {
      return make_error("address {} is already used by another endpoint", addr->address.to_string());
    }
  }
  const pd::IpPrefix& addr = *req.interface.address;
  LocalEndpoint ep;
  ep.id = req.endpoint_id;
  // Short local name (ferryctl endpoints); the whole ID if the short one is taken.
  ep.name = "dk-" + req.endpoint_id.substr(0, 12);
  if (state_.endpoints.count(ep.name) != 0) ep.name = "dk-" + req.endpoint_id;
  if (state_.endpoints.count(ep.name) != 0) return make_error("endpoint name {} is taken", ep.name);
  ep.network = net_name;
  // Docker sends no MAC unless the user gave one (--mac-address): derive it
  // from the network and the address, so a container re-created under the
  // same address keeps its MAC and peers' neighbour caches stay right.
  auto ip = parse_ip(addr.address.to_string());
  if (!ip) return ip.error();
  const MacAddress chosen = req.interface.mac_address ? *req.interface.mac_address : netns::derive_mac(net_name, *ip);
  if (auto owner = mac_owner(net_name, chosen)) {
    return make_error("MAC address {} is already used in network {} by endpoint {}{}", chosen.to_string(), net_name,
                      *owner, req.interface.mac_address ? "" : " (it is the MAC derived from this address)");
  }
  ep.mac = chosen.to_string();
  ep.ip_cidr = addr.to_string();
  if (req.interface.address_ipv6) ep.ip6_cidr = req.interface.address_ipv6->to_string();
  ep.mtu = endpoint_mtu();
  ep.container_offloads = container_offloads();
  ep.host_ifname = netns::derive_host_ifname(ep.id);
  ep.container_ifname = netns::derive_peer_ifname(ep.id);
  ep.docker = true;
  ep.docker_network = req.network_id;
  ep.joined = false;
  auto mac = parse_mac(ep.mac);
  if (!mac) return mac.error();

  const LocalState saved = state_;
  state_.endpoints[ep.name] = ep;
  hold_network(net_name);
  claim(addr.address.to_string());
  if (req.interface.address_ipv6) claim(req.interface.address_ipv6->address.to_string());
  if (auto r = save_state(); !r) {
    state_ = saved;
    return r.error();
  }
  spdlog::info("endpoint {} ({}) created: network {}, {} {} {}, MTU {}", ep.name, ep.id, net_name, ep.ip_cidr,
               ep.ip6_cidr, ep.mac, ep.mtu);
  pd::EndpointInterface out;
  out.address = addr;
  out.mac_address = *mac;
  return out;
}

Result<void> Agent::unwire(LocalEndpoint& ep) {
  const LocalEndpoint before = ep;
  ep.joined = false;
  if (ep.docker) ep.netns_path.clear();
  if (auto r = save_state(); !r) {
    ep = before;
    return r;
  }
  if (auto r = endpoints_->remove(before.network, before.id); !r) {
    spdlog::warn("endpoint {}: withdrawing the record: {}", before.name, r.error().message);
  }
  refresh();  // the port leaves the data plane before its veth goes away
  netns::VethSpec veth;
  veth.endpoint_id = before.id;
  veth.host_ifname = before.host_ifname;
  if (auto r = netns::delete_endpoint(veth); !r) {
    spdlog::warn("endpoint {}: deleting veth {}: {}", before.name, before.host_ifname, r.error().message);
  }
  return ok();
}

Result<void> Agent::docker_delete_endpoint(const pd::EndpointRef& req) {
  LocalEndpoint* ep = find_endpoint(req.network_id, req.endpoint_id);
  if (ep == nullptr) return make_error("unknown endpoint {} in network {}", req.endpoint_id, req.network_id);
  if (ep->joined) {
    if (auto r = unwire(*ep); !r) return r;
  }
  const std::string name = ep->name;
  const LocalState saved = state_;
  state_.endpoints.erase(name);
  if (auto r = save_state(); !r) {
    state_ = saved;
    return r;
  }
  spdlog::info("endpoint {} ({}) deleted", name, req.endpoint_id);
  refresh();
  return ok();
}

Result<pd::EndpointOperInfoReply> Agent::docker_oper_info(const pd::EndpointRef& req) {
  const LocalEndpoint* ep = find_endpoint(req.network_id, req.endpoint_id);
  if (ep == nullptr) return make_error("unknown endpoint {} in network {}", req.endpoint_id, req.network_id);
  pd::EndpointOperInfoReply out;
  out.value["ferry.network"] = ep->network;
  if (auto it = state_.networks.find(ep->network); it != state_.networks.end()) {
    out.value["ferry.vni"] = std::to_string(it->second.vni);
  }
  out.value["ferry.ip"] = ep->ip_cidr;
  if (!ep->ip6_cidr.empty()) out.value["ferry.ip6"] = ep->ip6_cidr;
  out.value["ferry.mac"] = ep->mac;
  out.value["ferry.host_ifname"] = ep->host_ifname;
  out.value["ferry.port"] = !ep->joined                                                ? "not joined"
                            : reconciler_->applied().ports.count(ep->host_ifname) != 0 ? "programmed"
                                                                                       : "pending";
  return out;
}

Result<pd::JoinReply> Agent::docker_join(const pd::JoinRequest& req) {
  LocalEndpoint* found = find_endpoint(req.network_id, req.endpoint_id);
  if (found == nullptr) return make_error("unknown endpoint {} in network {}", req.endpoint_id, req.network_id);
  const std::string name = found->name;
  pd::JoinReply reply;
  reply.src_name = found->container_ifname;
  reply.dst_prefix = "eth";
  for (const bool v6 : {false, true}) {
    const std::string& cidr = v6 ? found->ip6_cidr : found->ip_cidr;
    if (cidr.empty()) continue;
    auto prefix = pd::parse_cidr(cidr);
    if (!prefix) return prefix.error();
    auto gw = pd::parse_ip(first_host(prefix->network().to_string()));
    if (!gw) return gw.error();
    (v6 ? reply.gateway_ipv6 : reply.gateway) = *gw;
  }
  if (found->joined) {
    if (found->netns_path == req.sandbox_key) return reply;  // a retried Join
    return make_error("endpoint {} is already joined to sandbox {}", req.endpoint_id, found->netns_path);
  }
  auto mac = parse_unicast_mac(found->mac);
  if (!mac) return mac.error();
  netns::DockerVethSpec spec;
  spec.endpoint_id = found->id;
  spec.host_ifname = found->host_ifname;
  spec.peer_ifname = found->container_ifname;
  spec.mac = *mac;
  spec.mtu = found->mtu;
  spec.container_tx_checksum = found->container_offloads;
  if (auto v = spec.validate(); !v) return v.error();

  // Durable first: a crash after this point finds the endpoint joined and
  // republishes it on restart.
  const LocalState saved = state_;
  found->joined = true;
  found->netns_path = req.sandbox_key;
  const LocalEndpoint ep = *found;
  if (auto r = save_state(); !r) {
    state_ = saved;
    return r.error();
  }
  auto made = netns::create_docker_veth(spec);
  if (!made) {
    state_ = saved;
    (void)save_state();
    return make_error("creating the veth pair for endpoint {}: {}", req.endpoint_id, made.error().message);
  }
  if (auto r = publish_endpoint(ep); !r) {
    (void)netns::delete_endpoint(spec);
    state_ = saved;
    (void)save_state();
    return r.error();
  }
  spdlog::info("endpoint {} ({}) joined sandbox {}: interface {} (host side {})", name, ep.id, req.sandbox_key,
               ep.container_ifname, ep.host_ifname);
  refresh();
  return reply;
}

Result<void> Agent::docker_leave(const pd::EndpointRef& req) {
  LocalEndpoint* ep = find_endpoint(req.network_id, req.endpoint_id);
  if (ep == nullptr) return make_error("unknown endpoint {} in network {}", req.endpoint_id, req.network_id);
  if (!ep->joined) return make_error("endpoint {} is not joined", req.endpoint_id);
  const std::string name = ep->name;
  if (auto r = unwire(*ep); !r) return r;
  spdlog::info("endpoint {} ({}) left its sandbox", name, req.endpoint_id);
  return ok();
}

// ---- IpamDriver ----

Result<pd::RequestPoolReply> Agent::ipam_request_pool(const pd::RequestPoolRequest& req) {
  if (!known_address_space(req.address_space)) {
    return make_error("unknown address space '{}' (Ferry's: {}, {})", req.address_space, kLocalAddressSpace,
                      kGlobalAddressSpace);
  }
  if (!req.pool) {
    return make_error("no {} subnet given: Ferry networks need one (docker network create {}--subnet CIDR)",
                      req.v6 ? "IPv6" : "IPv4", req.v6 ? "--ipv6 " : "");
  }
  if (req.sub_pool) return make_error("sub-pools (--ip-range) are not supported: the pool is the whole subnet");
  if (req.v6 != (req.pool->address.family == pd::IpFamily::kV6)) {
    return make_error("pool {} is not an {} subnet", req.pool->to_string(), req.v6 ? "IPv6" : "IPv4");
  }
  auto subnet = req.v6 ? canonical_subnet6(req.pool->to_string()) : canonical_subnet(req.pool->to_string());
  if (!subnet) return subnet.error();
  const std::string id = fmt::format("{}/{}", req.address_space, *subnet);
  // Docker's own IPAM refuses overlapping pools in one address space; so does
  // Ferry's local space (the global one is the cluster's). The same subnet
  // again is the same pool: it is reference-counted below.
  if (req.address_space == kLocalAddressSpace) {
    if (auto overlap = overlapping_pool(*subnet); !overlap.empty()) {
      return make_error("Pool overlaps with other one on this address space ({} overlaps {})", *subnet, overlap);
    }
  }
  const LocalState saved = state_;
  IpamPool& pool = state_.pools[id];
  pool.id = id;
  pool.subnet = *subnet;
  ++pool.refs;
  const std::uint32_t refs = pool.refs;
  if (auto r = save_state(); !r) {
    state_ = saved;
    return r.error();
  }
  spdlog::info("IPAM pool {} requested ({} references)", id, refs);
  return pd::RequestPoolReply{id, req.pool->network(), {}};
}

std::string Agent::overlapping_pool(const std::string& subnet) const {
  auto wanted = parse_prefix(subnet);
  if (!wanted) return {};
  const std::string prefix = std::string(kLocalAddressSpace) + "/";
  for (const auto& [id, pool] : state_.pools) {
    if (id.compare(0, prefix.size(), prefix) != 0 || pool.subnet == subnet || pool.refs == 0) continue;
    auto have = parse_prefix(pool.subnet);
    if (have && (have->contains(wanted->address) || wanted->contains(have->address))) return pool.subnet;
  }
  return {};
}

Result<void> Agent::ipam_release_pool(const pd::PoolRef& req) {
  auto it = state_.pools.find(req.pool_id);
  if (it == state_.pools.end()) return make_error("unknown pool {}", req.pool_id);
  const LocalState saved = state_;
  // Addresses still reserved when the last reference goes were never
  // released by Docker (it leaks the IPv4 address when the IPv6 request
  // of the same endpoint fails): they go back to the allocator with it.
  std::set<std::string> leftover;
  const std::string subnet = it->second.subnet;
  if (--it->second.refs == 0) {
    leftover = it->second.addresses;
    state_.pools.erase(it);
  }
  if (auto r = save_state(); !r) {
    state_ = saved;
    return r;
  }
  for (const auto& address : leftover) {
    free_in_allocator(subnet, address);
    spdlog::warn("IPAM pool {}: address {} was still reserved when the pool was released: freed", req.pool_id,
                 address);
  }
  spdlog::info("IPAM pool {} released", req.pool_id);
  return ok();
}

void Agent::ipam_request_address(const pd::RequestAddressRequest& req,
                                 const std::function<void(Result<pd::RequestAddressReply>)>& done) {
  auto it = state_.pools.find(req.pool_id);
  if (it == state_.pools.end()) return done(make_error("unknown pool {}", req.pool_id));
  const IpamPool& pool = it->second;
  std::optional<std::string> requested;
  if (req.address) {
    if ((req.address->family == pd::IpFamily::kV6) != pool.v6()) {
      return done(make_error("{} is not an {} address", req.address->to_string(), pool.v6() ? "IPv6" : "IPv4"));
    }
    requested = req.address->to_string();
  }
  if (req.type == pd::AddressRequestType::kGateway) {
    // The first host address: never handed to an endpoint (control/ipam
    // keeps it out of every pool), so nothing to reserve.
    const std::string gw = first_host(pool.subnet);
    if (requested && *requested != gw) {
      return done(
          make_error("gateway {} refused: a Ferry network's gateway is its first host address {}", *requested, gw));
    }
    return done(pd::RequestAddressReply{with_length(gw, pool.subnet), {}});
  }
  // The cluster network: the one a Docker network using this pool is bound
  // to, else the only active network with this subnet.
  std::string network;
  for (const auto& [id, d] : state_.docker_networks) {
    if (d.pool_id == req.pool_id || d.pool6_id == req.pool_id) network = d.network;
  }
  if (network.empty()) {
    int found = 0;
    for (const auto& e : network_view().active) {
      if (e.record.subnet_of(pool.v6()) == pool.subnet) {
        network = e.record.name;
        ++found;
      }
    }
    if (found != 1) {
      return done(make_error(
          "pool {}: no Docker network bound to a Ferry network uses it yet (addresses reserved before the network "
          "exists, such as --aux-address, are not supported)",
          req.pool_id));
    }
  }
  const std::string pool_id = req.pool_id;
  const std::string subnet = pool.subnet;
  // Anonymous allocation (Docker names no endpoint here); the address is
  // then kept in the pool's reservations (state.json) before the answer.
  allocate_address(network, pool.v6(), "", requested, [this, pool_id, network, subnet, done](Result<std::string> ip) {
    if (!ip) return done(make_error("pool {}: {}", pool_id, ip.error().message));
    auto reserved = state_.pools.find(pool_id);
    if (reserved == state_.pools.end()) {  // released while the allocation waited
      release_address(network, *ip);
      return done(make_error("pool {} was released", pool_id));
    }
    const LocalState saved = state_;
    reserved->second.addresses.insert(*ip);
    reserved->second.unclaimed[*ip] = wall_ms();
    if (auto r = save_state(); !r) {
      state_ = saved;
      release_address(network, *ip);
      return done(r.error());
    }
    spdlog::info("IPAM pool {}: address {} reserved (network {})", pool_id, *ip, network);
    done(pd::RequestAddressReply{with_length(*ip, subnet), {}});
  });
}

Result<void> Agent::ipam_release_address(const pd::ReleaseAddressRequest& req) {
  auto it = state_.pools.find(req.pool_id);
  if (it == state_.pools.end()) return make_error("unknown pool {}", req.pool_id);
  const std::string text = req.address.to_string();
  if (it->second.addresses.count(text) == 0) {
    if (text == first_host(it->second.subnet)) return ok();  // the gateway: never reserved
    return make_error("address {} is not allocated in pool {}", text, req.pool_id);
  }
  const LocalState saved = state_;
  const std::string subnet_text = it->second.subnet;
  state_.pools[req.pool_id].addresses.erase(text);
  state_.pools[req.pool_id].unclaimed.erase(text);
  if (auto r = save_state(); !r) {
    state_ = saved;
    return r;
  }
  // Back to the allocator of the pool holding it (after state.json: a crash
  // in between leaves an orphan that the next start frees).
  free_in_allocator(subnet_text, text);
  spdlog::info("IPAM pool {}: address {} released", req.pool_id, text);
  return ok();
}

void Agent::free_in_allocator(const std::string& subnet, const std::string& address) {
  for (const auto& name : ipam_->pool_names()) {
    const ipam::PoolSpec* spec = ipam_->spec(name);
    if (spec->cidr() != subnet) continue;
    auto a = spec->parse(address);
    if (a && ipam_->allocations(name).count(*a) != 0) {
      if (auto r = ipam_->release(name, *a); !r) {
        spdlog::warn("pool {}: releasing {}: {}", name, address, r.error().message);
      }
    }
  }
}

// A joined Docker endpoint that is in no container any more lost its
// sandbox without a Leave: Docker removed the container while this agent
// was down (its calls then fail and Docker goes on without them; it moves
// the interface back into the host's namespace, or the namespace goes and
// the pair with it), or the host restarted. Once that has lasted long
// enough, no call will ever use the endpoint again: it is withdrawn (as
// Leave would), forgotten (as DeleteEndpoint would) and its addresses are
// released (as ReleaseAddress would). A dockerd that cleans up the same
// sandbox later gets "unknown endpoint" and "not allocated" answers, which
// it logs and ignores.
//
// Long enough: --docker-orphan-ms when both sides of the pair are gone (only
// the sandbox's end can take them) or when this agent has seen the
// endpoint in its container before. An endpoint never seen in one since the
// agent started may be between Join and Docker moving the interface into
// the new container, which takes seconds on a busy host: it waits
// kUnseenOrphanGrace at least.
void Agent::reap_vanished_endpoints() {
  if (config_.docker_orphan_timeout.count() == 0) return;
  constexpr std::chrono::milliseconds kUnseenOrphanGrace{5 * 60 * 1000};
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::string> gone;
  std::map<std::string, std::chrono::steady_clock::time_point> still_out;
  std::set<std::string> seen;
  for (const auto& [name, ep] : state_.endpoints) {
    if (!ep.docker || !ep.joined || ep.host_ifname.empty()) continue;
    const bool host_side = ::if_nametoindex(ep.host_ifname.c_str()) != 0;
    const bool container_side_here = ::if_nametoindex(ep.container_ifname.c_str()) != 0;
    if (host_side && !container_side_here) {  // in its container
      seen.insert(name);
      continue;
    }
    if (seen_in_container_.contains(name)) seen.insert(name);
    auto since = orphans_.find(name);
    const auto first = since == orphans_.end() ? now : since->second;
    const auto grace = !host_side || seen.contains(name) ? config_.docker_orphan_timeout
                                                         : std::max(config_.docker_orphan_timeout, kUnseenOrphanGrace);
    if (now - first >= grace) {
      gone.push_back(name);
    } else {
      still_out[name] = first;
    }
  }
  orphans_ = std::move(still_out);
  seen_in_container_ = std::move(seen);
  for (const std::string& name : gone) {
    auto found = state_.endpoints.find(name);
    if (found == state_.endpoints.end()) continue;
    const LocalEndpoint ep = found->second;
    if (auto r = unwire(found->second); !r) {
      spdlog::warn("endpoint {}: in no container, but withdrawing it failed: {}", name, r.error().message);
      continue;
    }
    const LocalState saved = state_;
    state_.endpoints.erase(name);
    std::vector<std::pair<std::string, std::string>> freed;  // (subnet, address)
    if (auto d = state_.docker_networks.find(ep.docker_network); d != state_.docker_networks.end()) {
      for (const auto& [pool_id, cidr] :
           {std::pair{d->second.pool_id, ep.ip_cidr}, {d->second.pool6_id, ep.ip6_cidr}}) {
        auto pool = state_.pools.find(pool_id);
        if (cidr.empty() || pool == state_.pools.end()) continue;
        const std::string address = cidr.substr(0, cidr.find('/'));
        if (pool->second.addresses.erase(address) != 0) freed.emplace_back(pool->second.subnet, address);
      }
    }
    if (auto r = save_state(); !r) {
      state_ = saved;
      spdlog::warn("endpoint {}: forgetting it: {}", name, r.error().message);
      continue;
    }
    for (const auto& [subnet, address] : freed) free_in_allocator(subnet, address);
    spdlog::warn(
        "endpoint {} ({}): in no container for {} ms (Docker removed its sandbox without a Leave): withdrawn, "
        "forgotten, {} address(es) released",
        name, ep.id, config_.docker_orphan_timeout.count(), freed.size());
    refresh();
  }
}

}  // namespace ferry::agent
