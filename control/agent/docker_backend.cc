#include "control/agent/docker_backend.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>

#include "control/agent/agent.h"

namespace ferry::agent {

namespace pd = plugins::docker;

Result<void> DockerBackend::create_network(const pd::CreateNetworkRequest& request) {
  return on_loop<void>("CreateNetwork", [&] { return agent_.docker_create_network(request); });
}

Result<void> DockerBackend::delete_network(const pd::NetworkRef& request) {
  return on_loop<void>("DeleteNetwork", [&] { return agent_.docker_delete_network(request); });
}

// Swarm-manager calls: Ferry coordinates its hosts itself (Scope "local"),
// so there is nothing to allocate cluster-wide through Docker.
Result<pd::AllocateNetworkReply> DockerBackend::allocate_network(const pd::AllocateNetworkRequest& /*request*/) {
  return pd::AllocateNetworkReply{};
}

Result<void> DockerBackend::free_network(const pd::NetworkRef& /*request*/) { return ok(); }

Result<pd::EndpointInterface> DockerBackend::create_endpoint(const pd::CreateEndpointRequest& request) {
  return on_loop<pd::EndpointInterface>("CreateEndpoint", [&] { return agent_.docker_create_endpoint(request); });
}

Result<void> DockerBackend::delete_endpoint(const pd::EndpointRef& request) {
  return on_loop<void>("DeleteEndpoint", [&] { return agent_.docker_delete_endpoint(request); });
}

Result<pd::EndpointOperInfoReply> DockerBackend::endpoint_oper_info(const pd::EndpointRef& request) {
  return on_loop<pd::EndpointOperInfoReply>("EndpointOperInfo", [&] { return agent_.docker_oper_info(request); });
}

Result<pd::JoinReply> DockerBackend::join(const pd::JoinRequest& request) {
  return on_loop<pd::JoinReply>("Join", [&] { return agent_.docker_join(request); });
}

Result<void> DockerBackend::leave(const pd::EndpointRef& request) {
  return on_loop<void>("Leave", [&] { return agent_.docker_leave(request); });
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

Result<pd::AddressSpaces> DockerBackend::default_address_spaces() {
  return pd::AddressSpaces{kLocalAddressSpace, kGlobalAddressSpace};
}

Result<pd::RequestPoolReply> DockerBackend::request_pool(const pd::RequestPoolRequest& request) {
  return on_loop<pd::RequestPoolReply>("RequestPool", [&] { return agent_.ipam_request_pool(request); });
}

Result<void> DockerBackend::release_pool(const pd::PoolRef& request) {
  return on_loop<void>("ReleasePool", [&] { return agent_.ipam_release_pool(request); });
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
  auto started = on_loop<void>("RequestAddress", [&] {
    agent_.ipam_request_address(request, [box](Result<pd::RequestAddressReply> r) {
      const std::lock_guard<std::mutex> lock(box->mutex);
      box->result.emplace(std::move(r));
      box->cv.notify_all();
    });
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
  return on_loop<void>("ReleaseAddress", [&] { return agent_.ipam_release_address(request); });
}

}  // namespace ferry::agent
