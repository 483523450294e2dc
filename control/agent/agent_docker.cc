// Agent: Docker's remote NetworkDriver and IpamDriver, run on the loop
// thread (DockerBackend hands the calls over). Every call either completes
// (state saved before the reply) or changes nothing: each one snapshots
// LocalState and restores it when a later step fails. docs/plugin.md lists
// the semantics method by method.
#include <spdlog/spdlog.h>

#include <charconv>

#include "control/agent/agent.h"
#include "control/agent/docker_backend.h"
#include "netns/endpoint.h"
#include "netns/naming.h"

namespace ferry::agent {

namespace pd = plugins::docker;

namespace {

constexpr const char* kNetworkOption = "ferry.network";
constexpr const char* kVniOption = "ferry.vni";

dp_api::Ipv4 first_host(const dp_api::Ipv4Prefix& subnet) {
  const std::uint32_t mask = subnet.length == 0 ? 0 : ~(0xffffffffU >> subnet.length);
  return dp_api::Ipv4{(subnet.addr.value & mask) + 1};
}

pd::IpPrefix to_pd(dp_api::Ipv4 ip, std::uint8_t length) { return pd::IpPrefix{pd::IpAddress::v4(ip.value), length}; }

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

std::set<std::uint32_t> Agent::used_addresses(const dp_api::Ipv4Prefix& subnet) const {
  std::set<std::uint32_t> used;
  for (const auto& [n, ep] : state_.endpoints) {
    auto p = dp_api::parse_ipv4_prefix(ep.ip_cidr);
    if (p && subnet.contains(p->addr)) used.insert(p->addr.value);
  }
  const std::string text = dp_api::format_ipv4_prefix(subnet);
  for (const auto& e : network_view().active) {
    if (e.record.subnet != text) continue;
    for (const auto& rec : endpoints_->list(e.record.name)) {
      if (!rec.ipv4) continue;
      const auto& b = *rec.ipv4;
      used.insert((std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3]);
    }
  }
  return used;
}

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

// ---- NetworkDriver ----

Result<void> Agent::docker_create_network(const pd::CreateNetworkRequest& req) {
  if (auto it = state_.docker_networks.find(req.network_id); it != state_.docker_networks.end()) {
    return make_error("network {} already exists (bound to cluster network {})", req.network_id, it->second.network);
  }
  if (req.enable_ipv6 || !req.ipv6_data.empty()) return make_error("IPv6 is not supported by Ferry networks yet");
  if (req.ipv4_data.size() != 1) {
    return make_error("a Ferry network needs exactly one IPv4 subnet, got {} (docker network create --subnet CIDR)",
                      req.ipv4_data.size());
  }
  const pd::IpamData& data = req.ipv4_data[0];
  if (!known_address_space(data.address_space)) {
    return make_error("address space '{}' is not Ferry's: use Ferry's IPAM driver (--ipam-driver ferry)",
                      data.address_space);
  }
  auto subnet_text = canonical_subnet(data.pool.network().to_string());
  if (!subnet_text) return subnet_text.error();
  auto subnet = dp_api::parse_ipv4_prefix(*subnet_text);
  if (!subnet) return subnet.error();
  if (data.gateway && data.gateway->address.v4_value() != first_host(*subnet).value) {
    return make_error("gateway {} refused: a Ferry network's gateway is its first host address {}",
                      data.gateway->address.to_string(), dp_api::format_ipv4(first_host(*subnet)));
  }
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
    if (rec.subnet != *subnet_text) {
      return make_error("network {} has subnet {}, not {}", name, rec.subnet, *subnet_text);
    }
  } else {
    rec.name = name;
    rec.subnet = *subnet_text;
    rec.vni = vni ? *vni : pick_vni(view, name);
    if (auto r = check_create(view, rec); !r) return r.error();
    rec.origin_host = config_.node_name;
    rec.origin_lamport = tables_->lamport() + 1;  // the put below
  }

  const LocalState saved = state_;
  state_.docker_networks[req.network_id] =
      DockerNetwork{req.network_id, name, fmt::format("{}/{}", data.address_space, *subnet_text)};
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
    spdlog::info("network {} created for Docker network {}: VNI {}, subnet {}", name, req.network_id, rec.vni,
                 rec.subnet);
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
  const dp_api::Ipv4Prefix subnet = net->record.prefix();
  if (req.interface.address_ipv6) return make_error("IPv6 addresses are not supported by Ferry networks yet");
  if (!req.interface.address) {
    return make_error("no IPv4 address given: Ferry networks need Ferry's IPAM driver (--ipam-driver ferry)");
  }
  const pd::IpPrefix& addr = *req.interface.address;
  if (addr.address.family != pd::IpFamily::kV4 || addr.length != subnet.length ||
      !subnet.contains(dp_api::Ipv4{addr.address.v4_value()})) {
    return make_error("address {} is not in network {}'s subnet {}", addr.to_string(), net_name, net->record.subnet);
  }
  if (used_addresses(subnet).count(addr.address.v4_value()) != 0) {
    return make_error("address {} is already used by another endpoint", addr.address.to_string());
  }
  LocalEndpoint ep;
  ep.id = req.endpoint_id;
  // Short local name (ferryctl endpoints); the whole ID if the short one is taken.
  ep.name = "dk-" + req.endpoint_id.substr(0, 12);
  if (state_.endpoints.count(ep.name) != 0) ep.name = "dk-" + req.endpoint_id;
  if (state_.endpoints.count(ep.name) != 0) return make_error("endpoint name {} is taken", ep.name);
  ep.network = net_name;
  ep.mac = req.interface.mac_address ? req.interface.mac_address->to_string() : netns::derive_mac(ep.id).to_string();
  ep.ip_cidr = addr.to_string();
  ep.host_ifname = netns::derive_host_ifname(ep.id);
  ep.container_ifname = netns::derive_peer_ifname(ep.id);
  ep.docker = true;
  ep.docker_network = req.network_id;
  ep.joined = false;
  auto mac = pd::parse_mac(ep.mac);
  if (!mac) return mac.error();

  const LocalState saved = state_;
  state_.endpoints[ep.name] = ep;
  hold_network(net_name);
  if (auto r = save_state(); !r) {
    state_ = saved;
    return r.error();
  }
  spdlog::info("endpoint {} ({}) created: network {}, {} {}", ep.name, ep.id, net_name, ep.ip_cidr, ep.mac);
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
  auto subnet = dp_api::parse_ipv4_prefix(found->ip_cidr);
  if (!subnet) return subnet.error();
  pd::JoinReply reply;
  reply.src_name = found->container_ifname;
  reply.dst_prefix = "eth";
  reply.gateway = pd::IpAddress::v4(first_host(*subnet).value);
  if (found->joined) {
    if (found->netns_path == req.sandbox_key) return reply;  // a retried Join
    return make_error("endpoint {} is already joined to sandbox {}", req.endpoint_id, found->netns_path);
  }
  auto mac = netns::parse_mac(found->mac);
  if (!mac) return mac.error();
  netns::DockerVethSpec spec;
  spec.endpoint_id = found->id;
  spec.host_ifname = found->host_ifname;
  spec.peer_ifname = found->container_ifname;
  spec.mac = *mac;
  spec.mtu = found->mtu;
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
  if (req.v6) return make_error("IPv6 pools are not supported by Ferry yet");
  if (!known_address_space(req.address_space)) {
    return make_error("unknown address space '{}' (Ferry's: {}, {})", req.address_space, kLocalAddressSpace,
                      kGlobalAddressSpace);
  }
  if (!req.pool) return make_error("no subnet given: Ferry networks need one (docker network create --subnet CIDR)");
  if (req.sub_pool) return make_error("sub-pools (--ip-range) are not supported: the pool is the whole subnet");
  auto subnet = canonical_subnet(req.pool->to_string());
  if (!subnet) return subnet.error();
  const std::string id = fmt::format("{}/{}", req.address_space, *subnet);
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

Result<void> Agent::ipam_release_pool(const pd::PoolRef& req) {
  auto it = state_.pools.find(req.pool_id);
  if (it == state_.pools.end()) return make_error("unknown pool {}", req.pool_id);
  const LocalState saved = state_;
  if (--it->second.refs == 0) state_.pools.erase(it);
  if (auto r = save_state(); !r) {
    state_ = saved;
    return r;
  }
  spdlog::info("IPAM pool {} released", req.pool_id);
  return ok();
}

void Agent::ipam_request_address(const pd::RequestAddressRequest& req,
                                 const std::function<void(Result<pd::RequestAddressReply>)>& done) {
  auto it = state_.pools.find(req.pool_id);
  if (it == state_.pools.end()) return done(make_error("unknown pool {}", req.pool_id));
  auto subnet = dp_api::parse_ipv4_prefix(it->second.subnet);
  if (!subnet) return done(subnet.error());
  std::optional<dp_api::Ipv4> requested;
  if (req.address) {
    if (req.address->family != pd::IpFamily::kV4) {
      return done(make_error("{} is not an IPv4 address", req.address->to_string()));
    }
    requested = dp_api::Ipv4{req.address->v4_value()};
  }
  if (req.type == pd::AddressRequestType::kGateway) {
    // The first host address: never handed to an endpoint (control/ipam
    // keeps it out of every pool), so nothing to reserve.
    const dp_api::Ipv4 gw = first_host(*subnet);
    if (requested && *requested != gw) {
      return done(make_error("gateway {} refused: a Ferry network's gateway is its first host address {}",
                             dp_api::format_ipv4(*requested), dp_api::format_ipv4(gw)));
    }
    return done(pd::RequestAddressReply{to_pd(gw, subnet->length), {}});
  }
  // The cluster network: the one a Docker network using this pool is bound
  // to, else the only active network with this subnet.
  std::string network;
  for (const auto& [id, d] : state_.docker_networks) {
    if (d.pool_id == req.pool_id) network = d.network;
  }
  if (network.empty()) {
    int found = 0;
    for (const auto& e : network_view().active) {
      if (e.record.subnet == it->second.subnet) {
        network = e.record.name;
        ++found;
      }
    }
    if (found != 1) {
      return done(make_error("pool {}: no Docker network bound to a Ferry network uses it yet", req.pool_id));
    }
  }
  const std::string pool_id = req.pool_id;
  const std::uint8_t length = subnet->length;
  // Anonymous allocation (Docker names no endpoint here); the address is
  // then kept in the pool's reservations (state.json) before the answer.
  allocate_address(network, "", requested, [this, pool_id, network, length, done](Result<dp_api::Ipv4> ip) {
    if (!ip) return done(make_error("pool {}: {}", pool_id, ip.error().message));
    auto pool = state_.pools.find(pool_id);
    if (pool == state_.pools.end()) {  // released while the allocation waited
      release_address(network, *ip);
      return done(make_error("pool {} was released", pool_id));
    }
    const LocalState saved = state_;
    pool->second.addresses.insert(dp_api::format_ipv4(*ip));
    if (auto r = save_state(); !r) {
      state_ = saved;
      release_address(network, *ip);
      return done(r.error());
    }
    spdlog::info("IPAM pool {}: address {} reserved (network {})", pool_id, dp_api::format_ipv4(*ip), network);
    done(pd::RequestAddressReply{to_pd(*ip, length), {}});
  });
}

Result<void> Agent::ipam_release_address(const pd::ReleaseAddressRequest& req) {
  auto it = state_.pools.find(req.pool_id);
  if (it == state_.pools.end()) return make_error("unknown pool {}", req.pool_id);
  const std::string text = req.address.to_string();
  if (it->second.addresses.count(text) == 0) {
    auto subnet = dp_api::parse_ipv4_prefix(it->second.subnet);
    if (subnet && req.address.family == pd::IpFamily::kV4 && req.address.v4_value() == first_host(*subnet).value) {
      return ok();  // the gateway: never reserved
    }
    return make_error("address {} is not allocated in pool {}", text, req.pool_id);
  }
  const LocalState saved = state_;
  const std::string subnet_text = it->second.subnet;
  state_.pools[req.pool_id].addresses.erase(text);
  if (auto r = save_state(); !r) {
    state_ = saved;
    return r;
  }
  // Back to the allocator of the pool holding it (after state.json: a crash
  // in between leaves an orphan that the next start frees).
  for (const auto& name : ipam_->pool_names()) {
    const ipam::PoolSpec* spec = ipam_->spec(name);
    if (spec->cidr() != subnet_text) continue;
    if (ipam_->allocations(name).count(req.address.v4_value()) != 0) {
      release_address(name, dp_api::Ipv4{req.address.v4_value()});
    }
  }
  spdlog::info("IPAM pool {}: address {} released", req.pool_id, text);
  return ok();
}

}  // namespace ferry::agent
