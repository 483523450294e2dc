// Typed requests and replies of libnetwork's remote NetworkDriver and
// IpamDriver protocols (see docs/plugin.md for the wire form of each). The
// codec (codec.h) converts between these and Docker's JSON; backends only
// ever see these types, with every address already parsed and validated.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "plugins/docker/address.h"

namespace ferry::plugins::docker {

// Docker's string options (user `-o key=value`, IPAM options, Data maps).
using StringMap = std::map<std::string, std::string>;

// ---- NetworkDriver ----

// One IPAM-allocated subnet of a network (Docker's IPAMData).
struct IpamData {
  std::string address_space;
  IpPrefix pool;                    // the subnet, e.g. 10.10.0.0/24
  std::optional<IpPrefix> gateway;  // gateway address with the pool's length, e.g. 10.10.0.1/24
  std::map<std::string, IpPrefix> aux_addresses;
};

struct CreateNetworkRequest {
  std::string network_id;
  bool enable_ipv6 = false;   // Options["com.docker.network.enable_ipv6"]
  bool internal = false;      // Options["com.docker.network.internal"]
  StringMap generic_options;  // Options["com.docker.network.generic"]: the user's -o options
  std::string options_json;   // the whole Options object as compact JSON ("{}" when null)
  std::vector<IpamData> ipv4_data;
  std::vector<IpamData> ipv6_data;
};

struct NetworkRef {  // DeleteNetwork, FreeNetwork
  std::string network_id;
};

// AllocateNetwork/FreeNetwork are called on swarm managers only.
struct AllocateNetworkRequest {
  std::string network_id;
  StringMap options;
  std::vector<IpamData> ipv4_data;
  std::vector<IpamData> ipv6_data;
};

struct AllocateNetworkReply {
  StringMap options;
};

// An endpoint's interface. In a CreateEndpoint request a field is set when
// Docker supplied it; in the backend's reply the backend fills what it chose
// (at least the MAC when Docker gave none) and the codec drops every field
// Docker supplied, as libnetwork refuses to have them overwritten.
struct EndpointInterface {
  std::optional<IpPrefix> address;       // "10.10.0.2/24"
  std::optional<IpPrefix> address_ipv6;  // "fd00::2/64"
  std::optional<MacAddress> mac_address;
};

struct CreateEndpointRequest {
  std::string network_id;
  std::string endpoint_id;
  EndpointInterface interface;
  std::string options_json;  // Options as compact JSON ("{}" when null)
};

// DeleteEndpoint, EndpointOperInfo, Leave, RevokeExternalConnectivity.
struct EndpointRef {
  std::string network_id;
  std::string endpoint_id;
};

struct EndpointOperInfoReply {
  StringMap value;  // shown by `docker network inspect` (may be empty)
};

struct JoinRequest {
  std::string network_id;
  std::string endpoint_id;
  std::string sandbox_key;   // path of the container's network namespace
  std::string options_json;  // Options as compact JSON ("{}" when null)
};

enum class RouteType : int { kNextHop = 0, kConnected = 1 };

struct StaticRoute {
  IpPrefix destination;
  RouteType type = RouteType::kNextHop;
  std::optional<IpAddress> next_hop;  // required for kNextHop, absent for kConnected
};

struct JoinReply {
  std::string src_name;    // host-side name of the interface Docker moves into the container
  std::string dst_prefix;  // Docker renames it dst_prefix + index, e.g. "eth"
  std::optional<IpAddress> gateway;
  std::optional<IpAddress> gateway_ipv6;
  std::vector<StaticRoute> static_routes;
  bool disable_gateway_service = false;
};

struct ProgramExternalConnectivityRequest {
  std::string network_id;
  std::string endpoint_id;
  std::string options_json;  // exposed ports / port map as compact JSON ("{}" when null)
};

// DiscoverNew/DiscoverDelete. Type 1 is node discovery, 2 encryption keys.
struct DiscoveryRequest {
  int discovery_type = 0;
  std::string data_json;  // DiscoveryData as compact JSON ("null" when absent)
};

// ---- IpamDriver ----

struct AddressSpaces {
  std::string local_default;
  std::string global_default;
};

struct RequestPoolRequest {
  std::string address_space;
  std::optional<IpPrefix> pool;      // absent: the driver picks one
  std::optional<IpPrefix> sub_pool;  // absent: the whole pool
  StringMap options;
  bool v6 = false;
};

struct RequestPoolReply {
  std::string pool_id;
  IpPrefix pool;
  StringMap data;
};

struct PoolRef {  // ReleasePool
  std::string pool_id;
};

enum class AddressRequestType : std::uint8_t { kEndpoint, kGateway };

struct RequestAddressRequest {
  std::string pool_id;
  std::optional<IpAddress> address;  // the preferred address; absent: any free one
  // kGateway when Options["RequestAddressType"] == "com.docker.network.gateway".
  AddressRequestType type = AddressRequestType::kEndpoint;
  std::optional<MacAddress> mac_address;  // Options["com.docker.network.endpoint.macaddress"], if sent
  StringMap options;
};

struct RequestAddressReply {
  IpPrefix address;  // the address with the pool's prefix length, e.g. 10.10.0.2/24
  StringMap data;
};

struct ReleaseAddressRequest {
  std::string pool_id;
  IpAddress address;
};

}  // namespace ferry::plugins::docker
