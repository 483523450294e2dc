// Test-only backends: they keep just enough state to answer like a real
// driver (unknown IDs, duplicates, reference-counted pools) and record every
// typed request, so tests can check the Dispatcher passed Docker's values
// through correctly.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "plugins/docker/ipam_backend.h"
#include "plugins/docker/network_backend.h"

namespace ferry::plugins::docker::testing {

class RecordingNetworkBackend : public NetworkBackend {
 public:
  // Every call, in order, by method name ("CreateNetwork", ...).
  std::vector<std::string> calls;
  std::vector<CreateNetworkRequest> create_networks;
  std::vector<CreateEndpointRequest> create_endpoints;
  std::vector<JoinRequest> joins;
  std::vector<ProgramExternalConnectivityRequest> program_external;
  std::vector<DiscoveryRequest> discoveries;
  std::vector<EndpointRef> endpoint_refs;  // DeleteEndpoint, OperInfo, Leave, Revoke
  bool fail_join = false;                  // makes Join fail (rollback tests)

  std::set<std::string> networks;
  std::map<std::string, std::string> endpoints;  // endpoint id -> network id
  std::set<std::string> joined;

  Result<void> create_network(const CreateNetworkRequest& request) override {
    calls.emplace_back("CreateNetwork");
    create_networks.push_back(request);
    if (!networks.insert(request.network_id).second) {
      return make_error("network {} already exists", request.network_id);
    }
    return ok();
  }
  Result<void> delete_network(const NetworkRef& request) override {
    calls.emplace_back("DeleteNetwork");
    if (networks.erase(request.network_id) == 0) return make_error("network {} not found", request.network_id);
    return ok();
  }
  Result<AllocateNetworkReply> allocate_network(const AllocateNetworkRequest& request) override {
    calls.emplace_back("AllocateNetwork");
    AllocateNetworkReply reply;
    reply.options = request.options;
    reply.options["ferry.allocated"] = "yes";
    return reply;
  }
  Result<void> free_network(const NetworkRef& /*request*/) override {
    calls.emplace_back("FreeNetwork");
    return ok();
  }
  Result<EndpointInterface> create_endpoint(const CreateEndpointRequest& request) override {
    calls.emplace_back("CreateEndpoint");
    create_endpoints.push_back(request);
    if (networks.count(request.network_id) == 0) return make_error("network {} not found", request.network_id);
    if (endpoints.count(request.endpoint_id) != 0) {
      return make_error("endpoint {} already exists", request.endpoint_id);
    }
    endpoints.emplace(request.endpoint_id, request.network_id);
    EndpointInterface settled = request.interface;
    if (!settled.mac_address) settled.mac_address = MacAddress{{0x02, 0x42, 0x0a, 0x0a, 0x00, 0x02}};
    return settled;
  }
  Result<void> delete_endpoint(const EndpointRef& request) override {
    calls.emplace_back("DeleteEndpoint");
    endpoint_refs.push_back(request);
    if (endpoints.erase(request.endpoint_id) == 0) return make_error("endpoint {} not found", request.endpoint_id);
    return ok();
  }
  Result<EndpointOperInfoReply> endpoint_oper_info(const EndpointRef& request) override {
    calls.emplace_back("EndpointOperInfo");
    endpoint_refs.push_back(request);
    if (endpoints.count(request.endpoint_id) == 0) return make_error("endpoint {} not found", request.endpoint_id);
    return EndpointOperInfoReply{{{"ferry.port", "fe1"}}};
  }
  Result<JoinReply> join(const JoinRequest& request) override {
    calls.emplace_back("Join");
    joins.push_back(request);
    if (endpoints.count(request.endpoint_id) == 0) return make_error("endpoint {} not found", request.endpoint_id);
    if (fail_join) return make_error("cannot create veth for endpoint {}: injected failure", request.endpoint_id);
    joined.insert(request.endpoint_id);
    JoinReply reply;
    reply.src_name = "fe" + request.endpoint_id.substr(0, 7);
    reply.dst_prefix = "eth";
    reply.gateway = *parse_ip("10.10.0.1");
    reply.static_routes.push_back(
        StaticRoute{*parse_cidr("10.20.0.0/16"), RouteType::kNextHop, *parse_ip("10.10.0.254")});
    reply.static_routes.push_back(StaticRoute{*parse_cidr("10.30.0.0/16"), RouteType::kConnected, std::nullopt});
    return reply;
  }
  Result<void> leave(const EndpointRef& request) override {
    calls.emplace_back("Leave");
    endpoint_refs.push_back(request);
    if (joined.erase(request.endpoint_id) == 0) return make_error("endpoint {} is not joined", request.endpoint_id);
    return ok();
  }
  Result<void> discover_new(const DiscoveryRequest& request) override {
    calls.emplace_back("DiscoverNew");
    discoveries.push_back(request);
    return ok();
  }
  Result<void> discover_delete(const DiscoveryRequest& request) override {
    calls.emplace_back("DiscoverDelete");
    discoveries.push_back(request);
    return ok();
  }
  Result<void> program_external_connectivity(const ProgramExternalConnectivityRequest& request) override {
    calls.emplace_back("ProgramExternalConnectivity");
    program_external.push_back(request);
    if (endpoints.count(request.endpoint_id) == 0) return make_error("endpoint {} not found", request.endpoint_id);
    return ok();
  }
  Result<void> revoke_external_connectivity(const EndpointRef& request) override {
    calls.emplace_back("RevokeExternalConnectivity");
    endpoint_refs.push_back(request);
    if (endpoints.count(request.endpoint_id) == 0) return make_error("endpoint {} not found", request.endpoint_id);
    return ok();
  }
};

class RecordingIpamBackend : public IpamBackend {
 public:
  std::vector<std::string> calls;
  std::vector<RequestPoolRequest> pool_requests;
  std::vector<RequestAddressRequest> address_requests;
  std::vector<ReleaseAddressRequest> address_releases;
  std::map<std::string, int> pool_references;  // pool id -> references
  std::set<IpAddress> allocated;
  std::uint32_t next_host = 2;

  Result<AddressSpaces> default_address_spaces() override {
    calls.emplace_back("GetDefaultAddressSpaces");
    return AddressSpaces{"FerryLocal", "FerryGlobal"};
  }
  Result<RequestPoolReply> request_pool(const RequestPoolRequest& request) override {
    calls.emplace_back("RequestPool");
    pool_requests.push_back(request);
    if (!request.pool) return make_error("a subnet is required (docker network create --subnet)");
    const IpPrefix pool = request.pool->network();
    const std::string id = request.address_space + "/" + pool.to_string();
    ++pool_references[id];
    return RequestPoolReply{id, pool, {}};
  }
  Result<void> release_pool(const PoolRef& request) override {
    calls.emplace_back("ReleasePool");
    const auto it = pool_references.find(request.pool_id);
    if (it == pool_references.end()) return make_error("pool {} not found", request.pool_id);
    if (--it->second == 0) pool_references.erase(it);
    return ok();
  }
  Result<RequestAddressReply> request_address(const RequestAddressRequest& request) override {
    calls.emplace_back("RequestAddress");
    address_requests.push_back(request);
    if (pool_references.count(request.pool_id) == 0) return make_error("pool {} not found", request.pool_id);
    IpAddress address = request.address ? *request.address : IpAddress::v4((10u << 24) | (10u << 16) | next_host++);
    if (!allocated.insert(address).second) return make_error("address {} is in use", address.to_string());
    return RequestAddressReply{IpPrefix{address, 24}, {}};
  }
  Result<void> release_address(const ReleaseAddressRequest& request) override {
    calls.emplace_back("ReleaseAddress");
    address_releases.push_back(request);
    if (pool_references.count(request.pool_id) == 0) return make_error("pool {} not found", request.pool_id);
    if (allocated.erase(request.address) == 0) {
      return make_error("address {} is not allocated", request.address.to_string());
    }
    return ok();
  }
};

}  // namespace ferry::plugins::docker::testing
