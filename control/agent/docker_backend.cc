#include "control/agent/docker_backend.h"

#include <charconv>
#include <condition_variable>
#include <mutex>
#include <optional>

#include <fmt/format.h>

#include "plugins/docker/plugin_server.h"

namespace ferry::agent {

namespace pd = plugins::docker;

namespace {

constexpr const char* kNetworkOption = "ferry.network";
constexpr const char* kVniOption = "ferry.vni";
// libnetwork's ipamapi.AllocSerialPrefix: "true" asks for serial allocation
// (`docker network create --ipam-opt com.docker.network.ipam.serial=true`
// puts it in RequestPool's options; Docker's own IPAM reads it from
// RequestAddress's, where Ferry honours it too).
constexpr const char* kSerialOption = "com.docker.network.ipam.serial";

// The serial option of `options`: absent or "false" is first-free.
Result<bool> serial_option(const pd::StringMap& options) {
  const auto it = options.find(kSerialOption);
  if (it == options.end() || it->second == "false" || it->second.empty()) return false;
  if (it->second == "true") return true;
  return make_error("option {}: '{}' is neither true nor false", kSerialOption, it->second);
}

// Docker's address types and the agent's: the same bytes, no text between.
IpAddress from_docker(const pd::IpAddress& a) {
  return IpAddress{a.family == pd::IpFamily::kV4 ? Family::kIPv4 : Family::kIPv6, a.bytes};
}
IpPrefix from_docker(const pd::IpPrefix& p) { return IpPrefix{from_docker(p.address), p.length}; }
pd::IpAddress to_docker(const IpAddress& a) {
  return pd::IpAddress{a.family == Family::kIPv4 ? pd::IpFamily::kV4 : pd::IpFamily::kV6, a.bytes};
}
pd::IpPrefix to_docker(const IpPrefix& p) {
  return pd::IpPrefix{to_docker(p.address), static_cast<std::uint8_t>(p.prefix_length)};
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

std::string pool_id_of(const std::string& space, const IpPrefix& subnet) {
  return fmt::format("{}/{}", space, subnet.to_string());
}

}  // namespace

// ---- NetworkDriver ----

Result<void> DockerBackend::create_network(const pd::CreateNetworkRequest& request) {
  return on_loop<void>("CreateNetwork", [&] { return do_create_network(request); });
}

Result<void> DockerBackend::do_create_network(const pd::CreateNetworkRequest& req) {
  if (auto it = service_.state().docker_networks.find(req.network_id); it != service_.state().docker_networks.end()) {
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
  BindRequest bind;
  bind.id = req.network_id;
  // Both families' data: a valid subnet, our address space, the gateway (if
  // given) the subnet's first host address.
  for (const bool v6 : {false, true}) {
    const auto& all = v6 ? req.ipv6_data : req.ipv4_data;
    if (all.empty()) continue;
    const pd::IpamData& data = all[0];
    if (!known_address_space(data.address_space)) {
      return make_error("address space '{}' is not Ferry's: use Ferry's IPAM driver (--ipam-driver ferry)",
                        data.address_space);
    }
    const IpPrefix pool = from_docker(data.pool.network());
    auto subnet = v6 ? check_subnet6(pool) : check_subnet(pool);
    if (!subnet) return subnet.error();
    const IpAddress gw = first_host(*subnet);
    if (data.gateway && from_docker(data.gateway->address) != gw) {
      return make_error("gateway {} refused: a Ferry network's gateway is its first host address {}",
                        data.gateway->address.to_string(), gw.to_string());
    }
    (v6 ? bind.pool6_id : bind.pool_id) = pool_id_of(data.address_space, *subnet);
    if (v6) {
      bind.subnet6 = *subnet;
    } else {
      bind.subnet = *subnet;
    }
    // Aux addresses (--aux-address) were reserved for the network itself.
    for (const auto& [aux, prefix] : data.aux_addresses) bind.reserved.push_back(from_docker(prefix.address));
  }
  if (auto it = req.generic_options.find(kNetworkOption); it != req.generic_options.end()) bind.network = it->second;
  if (auto it = req.generic_options.find(kVniOption); it != req.generic_options.end()) {
    auto v = parse_vni_option(it->second);
    if (!v) return v.error();
    bind.vni = *v;
  }
  if (bind.network.empty() && !bind.vni) {
    return make_error("say which cluster network this is: -o {}=NAME or -o {}=N (the same on every host)",
                      kNetworkOption, kVniOption);
  }
  auto bound = service_.bind_network(bind);
  if (!bound) return bound.error();
  return ok();
}

Result<void> DockerBackend::delete_network(const pd::NetworkRef& request) {
  return on_loop<void>("DeleteNetwork", [&] { return service_.unbind_network(request.network_id); });
}

// Swarm-manager calls: Ferry coordinates its hosts itself (Scope "local"),
// so there is nothing to allocate cluster-wide through Docker.
Result<pd::AllocateNetworkReply> DockerBackend::allocate_network(const pd::AllocateNetworkRequest& /*request*/) {
  return pd::AllocateNetworkReply{};
}

Result<void> DockerBackend::free_network(const pd::NetworkRef& /*request*/) { return ok(); }

Result<pd::EndpointInterface> DockerBackend::create_endpoint(const pd::CreateEndpointRequest& request) {
  return on_loop<pd::EndpointInterface>("CreateEndpoint", [&] { return do_create_endpoint(request); });
}

Result<pd::EndpointInterface> DockerBackend::do_create_endpoint(const pd::CreateEndpointRequest& req) {
  CreateEndpointRequest create;
  create.binding = req.network_id;
  create.id = req.endpoint_id;
  if (req.interface.address) create.ip = from_docker(*req.interface.address);
  if (req.interface.address_ipv6) create.ip6 = from_docker(*req.interface.address_ipv6);
  create.mac = req.interface.mac_address;
  auto ep = service_.create_endpoint(create);
  if (!ep) return ep.error();
  pd::EndpointInterface out;
  out.address = to_docker(ep->ip);
  out.mac_address = ep->mac;
  return out;
}

Result<void> DockerBackend::delete_endpoint(const pd::EndpointRef& request) {
  return on_loop<void>("DeleteEndpoint",
                       [&] { return service_.delete_endpoint(request.network_id, request.endpoint_id); });
}

Result<pd::EndpointOperInfoReply> DockerBackend::endpoint_oper_info(const pd::EndpointRef& request) {
  return on_loop<pd::EndpointOperInfoReply>("EndpointOperInfo", [&] { return do_oper_info(request); });
}

Result<pd::EndpointOperInfoReply> DockerBackend::do_oper_info(const pd::EndpointRef& req) {
  const LocalEndpoint* ep = service_.find(req.network_id, req.endpoint_id);
  if (ep == nullptr) return make_error("unknown endpoint {} in network {}", req.endpoint_id, req.network_id);
  pd::EndpointOperInfoReply out;
  out.value["ferry.network"] = ep->network;
  if (auto it = service_.state().networks.find(ep->network); it != service_.state().networks.end()) {
    out.value["ferry.vni"] = std::to_string(it->second.vni);
  }
  out.value["ferry.ip"] = ep->ip.to_string();
  if (ep->ip6) out.value["ferry.ip6"] = ep->ip6->to_string();
  out.value["ferry.mac"] = ep->mac.to_string();
  out.value["ferry.host_ifname"] = ep->host_ifname;
  out.value["ferry.port"] = port_state_name(service_.port_state(*ep));
  return out;
}

Result<pd::JoinReply> DockerBackend::join(const pd::JoinRequest& request) {
  return on_loop<pd::JoinReply>("Join", [&] { return do_join(request); });
}

Result<pd::JoinReply> DockerBackend::do_join(const pd::JoinRequest& req) {
  auto ep = service_.join(req.network_id, req.endpoint_id, req.sandbox_key);
  if (!ep) return ep.error();
  pd::JoinReply reply;
  reply.src_name = ep->container_ifname;
  reply.dst_prefix = "eth";
  reply.gateway = to_docker(first_host(ep->ip.network()));
  if (ep->ip6) reply.gateway_ipv6 = to_docker(first_host(ep->ip6->network()));
  return reply;
}

Result<void> DockerBackend::leave(const pd::EndpointRef& request) {
  return on_loop<void>("Leave", [&] { return service_.leave(request.network_id, request.endpoint_id); });
}

// Node discovery: gossip already knows every host.
Result<void> DockerBackend::discover_new(const pd::DiscoveryRequest& /*request*/) { return ok(); }
Result<void> DockerBackend::discover_delete(const pd::DiscoveryRequest& /*request*/) { return ok(); }

// Port publishing is not Ferry's: containers reach each other over the
// overlay only (docs/plugin.md). Accepted so `docker run -p` does not fail.
Result<void> DockerBackend::program_external_connectivity(const pd::ProgramExternalConnectivityRequest& /*request*/) {
  return ok();
}
Result<void> DockerBackend::revoke_external_connectivity(const pd::EndpointRef& /*request*/) { return ok(); }

// ---- IpamDriver ----

Result<pd::AddressSpaces> DockerBackend::default_address_spaces() {
  return pd::AddressSpaces{kLocalAddressSpace, kGlobalAddressSpace};
}

Result<pd::RequestPoolReply> DockerBackend::request_pool(const pd::RequestPoolRequest& request) {
  return on_loop<pd::RequestPoolReply>("RequestPool", [&] { return do_request_pool(request); });
}

Result<pd::RequestPoolReply> DockerBackend::do_request_pool(const pd::RequestPoolRequest& req) {
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
  const IpPrefix pool = from_docker(*req.pool);
  auto subnet = req.v6 ? check_subnet6(pool) : check_subnet(pool);
  if (!subnet) return subnet.error();
  const std::string id = pool_id_of(req.address_space, *subnet);
  // Docker's own IPAM refuses overlapping pools in one address space; so does
  // Ferry's local space (the global one is the cluster's). The same subnet
  // again is the same pool: the service counts its references.
  if (req.address_space == kLocalAddressSpace) {
    const std::string local = std::string(kLocalAddressSpace) + "/";
    for (const auto& [other_id, other] : service_.state().pools) {
      if (other_id.compare(0, local.size(), local) != 0 || other.subnet == *subnet || other.refs == 0) continue;
      if (other.subnet.contains(subnet->address) || subnet->contains(other.subnet.address)) {
        return make_error("Pool overlaps with other one on this address space ({} overlaps {})", subnet->to_string(),
                          other.subnet.to_string());
      }
    }
  }
  auto serial = serial_option(req.options);
  if (!serial) return serial.error();
  auto refs = service_.request_pool(PoolRequest{id, *subnet, *serial});
  if (!refs) return refs.error();
  return pd::RequestPoolReply{id, req.pool->network(), {}};
}

Result<void> DockerBackend::release_pool(const pd::PoolRef& request) {
  return on_loop<void>("ReleasePool", [&] { return service_.release_pool(request.pool_id); });
}

Result<pd::RequestAddressReply> DockerBackend::request_address(const pd::RequestAddressRequest& request) {
  // The answer may come from a later loop turn (space donated by another
  // host): the loop fills `box`, this thread waits for it.
  struct Box {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<Result<pd::RequestAddressReply>> result;
  };
  auto box = std::make_shared<Box>();
  auto answer = [box](Result<pd::RequestAddressReply> r) {
    const std::lock_guard<std::mutex> lock(box->mutex);
    box->result.emplace(std::move(r));
    box->cv.notify_all();
  };
  auto started = on_loop<void>("RequestAddress", [&] {
    auto pool = service_.state().pools.find(request.pool_id);
    if (pool == service_.state().pools.end()) {
      answer(make_error("unknown pool {}", request.pool_id));
      return ok();
    }
    const IpPrefix subnet = pool->second.subnet;
    std::optional<IpAddress> wanted;
    if (request.address) wanted = from_docker(*request.address);
    if (wanted && wanted->family != subnet.family()) {
      answer(make_error("{} is not an {} address", wanted->to_string(), pool->second.v6() ? "IPv6" : "IPv4"));
      return ok();
    }
    if (request.type == pd::AddressRequestType::kGateway) {
      // The first host address: never handed to an endpoint (control/ipam
      // keeps it out of every pool), so nothing to reserve.
      const IpAddress gw = first_host(subnet);
      if (wanted && *wanted != gw) {
        answer(make_error("gateway {} refused: a Ferry network's gateway is its first host address {}",
                          wanted->to_string(), gw.to_string()));
      } else {
        answer(pd::RequestAddressReply{to_docker(IpPrefix{gw, subnet.prefix_length}), {}});
      }
      return ok();
    }
    auto serial = serial_option(request.options);
    if (!serial) {
      answer(serial.error());
      return ok();
    }
    service_.request_address(
        request.pool_id, wanted,
        [answer, subnet](Result<IpAddress> ip) {
          if (!ip) return answer(ip.error());
          answer(pd::RequestAddressReply{to_docker(IpPrefix{*ip, subnet.prefix_length}), {}});
        },
        *serial);
    return ok();
  });
  if (!started) return started.error();
  // The allocator answers within its timeout (below timeout_, config.cc).
  std::unique_lock<std::mutex> lock(box->mutex);
  if (!box->cv.wait_for(lock, timeout_ * 2, [&] { return box->result.has_value(); })) {
    return make_error("no answer from the address allocator within {} ms", (timeout_ * 2).count());
  }
  return std::move(*box->result);
}

Result<void> DockerBackend::release_address(const pd::ReleaseAddressRequest& request) {
  return on_loop<void>("ReleaseAddress",
                       [&] { return service_.release_address(request.pool_id, from_docker(request.address)); });
}

// ---- the plugin ----

Result<std::unique_ptr<DockerPlugin>> DockerPlugin::start(const std::string& socket_path, EndpointService& service,
                                                          LoopExecutor& executor, std::chrono::milliseconds timeout) {
  std::unique_ptr<DockerPlugin> plugin(new DockerPlugin());
  plugin->backend_ = std::make_unique<DockerBackend>(service, executor, timeout);
  plugins::UnixHttpServerConfig hc;
  hc.socket_path = socket_path;
  hc.socket_mode = 0660;
  auto server = pd::start_plugin_server(hc, plugin->backend_.get(), plugin->backend_.get(), &plugin->calls_);
  if (!server) return server.error();
  plugin->server_ = std::move(*server);
  return plugin;
}

DockerPlugin::~DockerPlugin() { stop(); }

void DockerPlugin::stop() {
  if (server_) server_->stop();
}

}  // namespace ferry::agent
