// Docker's JSON <-> the typed messages of messages.h. Decoding is strict and
// never throws: malformed JSON, a body that is not an object, a missing or
// wrongly typed field, a bad address all give an Error naming the field.
// Encoding produces compact JSON with keys in sorted order, so replies are
// byte-for-byte predictable.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "plugins/docker/messages.h"

namespace ferry::plugins::docker {

// Deepest JSON nesting a request may have; deeper bodies are refused before
// parsing so nothing downstream recurses without bound.
inline constexpr int kMaxJsonDepth = 32;
// Longest ID (network, endpoint, pool) accepted. Docker's are 64 hex digits.
inline constexpr std::size_t kMaxIdSize = 256;

// ---- request decoders (body = the HTTP request body, JSON + newline) ----
Result<CreateNetworkRequest> decode_create_network(std::string_view body);
Result<NetworkRef> decode_network_ref(std::string_view body);  // DeleteNetwork, FreeNetwork
Result<AllocateNetworkRequest> decode_allocate_network(std::string_view body);
Result<CreateEndpointRequest> decode_create_endpoint(std::string_view body);
// DeleteEndpoint, EndpointOperInfo, Leave, RevokeExternalConnectivity.
Result<EndpointRef> decode_endpoint_ref(std::string_view body);
Result<JoinRequest> decode_join(std::string_view body);
Result<ProgramExternalConnectivityRequest> decode_program_external_connectivity(std::string_view body);
Result<DiscoveryRequest> decode_discovery(std::string_view body);
Result<RequestPoolRequest> decode_request_pool(std::string_view body);
Result<PoolRef> decode_release_pool(std::string_view body);
Result<RequestAddressRequest> decode_request_address(std::string_view body);
Result<ReleaseAddressRequest> decode_release_address(std::string_view body);

// ---- reply encoders ----
std::string encode_activate(bool network_driver, bool ipam_driver);
std::string encode_network_capabilities();  // Scope local, ConnectivityScope global
std::string encode_ipam_capabilities();     // RequiresMACAddress false
std::string encode_empty();                 // "{}"
std::string encode_allocate_network(const AllocateNetworkReply& reply);
// Only the fields the backend set AND Docker did not supply in `requested`.
std::string encode_create_endpoint(const EndpointInterface& requested, const EndpointInterface& settled);
std::string encode_endpoint_oper_info(const EndpointOperInfoReply& reply);
std::string encode_join(const JoinReply& reply);
std::string encode_address_spaces(const AddressSpaces& reply);
std::string encode_request_pool(const RequestPoolReply& reply);
std::string encode_request_address(const RequestAddressReply& reply);

// {"Err": message}: what the network client reads (on any HTTP status).
std::string encode_network_error(std::string_view message);
// {"Err": message, "Error": message}: libnetwork's IPAM client reads "Error"
// on HTTP 200 and "Err" otherwise; carrying both shows the message either way.
std::string encode_ipam_error(std::string_view message);

}  // namespace ferry::plugins::docker
