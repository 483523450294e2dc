#include "plugins/docker/dispatcher.h"

#include <exception>

#include "common/log.h"
#include "plugins/docker/codec.h"

namespace ferry::plugins::docker {

namespace {

constexpr std::string_view kNetworkPrefix = "NetworkDriver.";
constexpr std::string_view kIpamPrefix = "IpamDriver.";

Reply not_found(std::string_view target) {
  return Reply{404, encode_network_error(fmt::format("unknown method \"{}\"", target))};
}

// Runs decode -> backend -> encode for one call. `decode` gives
// Result<Request>, `call` maps the request to Result<T>, `encode` maps
// (request, T) to the reply body; `error` builds the error body.
template <typename Decode, typename Call, typename Encode>
Reply run(std::string_view method, std::string_view body, std::string (*error)(std::string_view), Decode decode,
          Call call, Encode encode) {
  auto request = decode(body);
  if (!request) {
    // The log names the method; the reply does not, since Docker's client
    // puts "NetworkDriver.<Method>: " in front of whatever we answer.
    spdlog::warn("docker plugin: {}: refused: {}", method, request.error().message);
    return Reply{500, error(request.error().message)};
  }
  auto result = call(*request);
  if (!result) {
    spdlog::warn("docker plugin: {}: {}", method, result.error().message);
    return Reply{500, error(result.error().message)};
  }
  spdlog::debug("docker plugin: {}: ok", method);
  return Reply{200, encode(*request, *result)};
}

// Result<void> has no value to pass on; give the encoder an empty tag.
struct Done {};
Result<Done> done(Result<void> result) {
  if (!result) return std::move(result).error();
  return Done{};
}

}  // namespace

Reply Dispatcher::handle(std::string_view target, std::string_view body) const {
  if (const auto query = target.find('?'); query != std::string_view::npos) target = target.substr(0, query);
  if (target.empty() || target.front() != '/') return not_found(target);
  const std::string_view method = target.substr(1);
  try {
    if (method == "Plugin.Activate") return Reply{200, encode_activate(network_ != nullptr, ipam_ != nullptr)};
    if (method.starts_with(kNetworkPrefix) && network_ != nullptr) {
      return handle_network(method.substr(kNetworkPrefix.size()), body);
    }
    if (method.starts_with(kIpamPrefix) && ipam_ != nullptr) {
      return handle_ipam(method.substr(kIpamPrefix.size()), body);
    }
    return not_found(target);
  } catch (const std::exception& e) {
    spdlog::error("docker plugin: {}: internal error: {}", method, e.what());
    const bool ipam = method.starts_with(kIpamPrefix);
    const std::string message = fmt::format("internal error: {}", e.what());
    return Reply{500, ipam ? encode_ipam_error(message) : encode_network_error(message)};
  } catch (...) {
    spdlog::error("docker plugin: {}: internal error", method);
    return Reply{500, encode_network_error("internal error")};
  }
}

Reply Dispatcher::handle_network(std::string_view method, std::string_view body) const {
  NetworkBackend& backend = *network_;
  const auto error = &encode_network_error;
  const auto empty = [](const auto&, const auto&) { return encode_empty(); };

  if (method == "GetCapabilities") return Reply{200, encode_network_capabilities()};
  if (method == "CreateNetwork") {
    return run(
        method, body, error, decode_create_network,
        [&](const CreateNetworkRequest& r) { return done(backend.create_network(r)); }, empty);
  }
  if (method == "DeleteNetwork") {
    return run(
        method, body, error, decode_network_ref, [&](const NetworkRef& r) { return done(backend.delete_network(r)); },
        empty);
  }
  if (method == "AllocateNetwork") {
    return run(
        method, body, error, decode_allocate_network,
        [&](const AllocateNetworkRequest& r) { return backend.allocate_network(r); },
        [](const auto&, const AllocateNetworkReply& reply) { return encode_allocate_network(reply); });
  }
  if (method == "FreeNetwork") {
    return run(
        method, body, error, decode_network_ref, [&](const NetworkRef& r) { return done(backend.free_network(r)); },
        empty);
  }
  if (method == "CreateEndpoint") {
    return run(
        method, body, error, decode_create_endpoint,
        [&](const CreateEndpointRequest& r) { return backend.create_endpoint(r); },
        [](const CreateEndpointRequest& r, const EndpointInterface& settled) {
          return encode_create_endpoint(r.interface, settled);
        });
  }
  if (method == "DeleteEndpoint") {
    return run(
        method, body, error, decode_endpoint_ref,
        [&](const EndpointRef& r) { return done(backend.delete_endpoint(r)); }, empty);
  }
  if (method == "EndpointOperInfo") {
    return run(
        method, body, error, decode_endpoint_ref, [&](const EndpointRef& r) { return backend.endpoint_oper_info(r); },
        [](const auto&, const EndpointOperInfoReply& reply) { return encode_endpoint_oper_info(reply); });
  }
  if (method == "Join") {
    return run(
        method, body, error, decode_join, [&](const JoinRequest& r) { return backend.join(r); },
        [](const auto&, const JoinReply& reply) { return encode_join(reply); });
  }
  if (method == "Leave") {
    return run(
        method, body, error, decode_endpoint_ref, [&](const EndpointRef& r) { return done(backend.leave(r)); }, empty);
  }
  if (method == "DiscoverNew") {
    return run(
        method, body, error, decode_discovery, [&](const DiscoveryRequest& r) { return done(backend.discover_new(r)); },
        empty);
  }
  if (method == "DiscoverDelete") {
    return run(
        method, body, error, decode_discovery,
        [&](const DiscoveryRequest& r) { return done(backend.discover_delete(r)); }, empty);
  }
  if (method == "ProgramExternalConnectivity") {
    return run(
        method, body, error, decode_program_external_connectivity,
        [&](const ProgramExternalConnectivityRequest& r) { return done(backend.program_external_connectivity(r)); },
        empty);
  }
  if (method == "RevokeExternalConnectivity") {
    return run(
        method, body, error, decode_endpoint_ref,
        [&](const EndpointRef& r) { return done(backend.revoke_external_connectivity(r)); }, empty);
  }
  return not_found(fmt::format("/{}{}", kNetworkPrefix, method));
}

Reply Dispatcher::handle_ipam(std::string_view method, std::string_view body) const {
  IpamBackend& backend = *ipam_;
  const auto error = &encode_ipam_error;
  const auto empty = [](const auto&, const auto&) { return encode_empty(); };

  if (method == "GetCapabilities") return Reply{200, encode_ipam_capabilities()};
  if (method == "GetDefaultAddressSpaces") {
    // No request body to decode: Docker sends an empty one.
    auto spaces = backend.default_address_spaces();
    if (!spaces) return Reply{500, encode_ipam_error(fmt::format("{}: {}", method, spaces.error().message))};
    return Reply{200, encode_address_spaces(*spaces)};
  }
  if (method == "RequestPool") {
    return run(
        method, body, error, decode_request_pool, [&](const RequestPoolRequest& r) { return backend.request_pool(r); },
        [](const auto&, const RequestPoolReply& reply) { return encode_request_pool(reply); });
  }
  if (method == "ReleasePool") {
    return run(
        method, body, error, decode_release_pool, [&](const PoolRef& r) { return done(backend.release_pool(r)); },
        empty);
  }
  if (method == "RequestAddress") {
    return run(
        method, body, error, decode_request_address,
        [&](const RequestAddressRequest& r) { return backend.request_address(r); },
        [](const auto&, const RequestAddressReply& reply) { return encode_request_address(reply); });
  }
  if (method == "ReleaseAddress") {
    return run(
        method, body, error, decode_release_address,
        [&](const ReleaseAddressRequest& r) { return done(backend.release_address(r)); }, empty);
  }
  return not_found(fmt::format("/{}{}", kIpamPrefix, method));
}

}  // namespace ferry::plugins::docker
