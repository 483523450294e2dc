// The agent's side of Docker's remote NetworkDriver and IpamDriver
// (plugins/docker): every call that reads or changes agent state is handed
// to the agent's loop thread through the LoopExecutor and answered from
// there (Agent::docker_* / ipam_*, agent_docker.cc); the plugin server's
// thread only waits. Calls with no state (discovery, external connectivity,
// swarm allocation) are answered here directly. docs/plugin.md lists what
// each method does.
#pragma once

#include <chrono>

#include "control/agent/loop_executor.h"
#include "plugins/docker/ipam_backend.h"
#include "plugins/docker/network_backend.h"

namespace ferry::agent {

class Agent;

class DockerBackend final : public plugins::docker::NetworkBackend, public plugins::docker::IpamBackend {
 public:
  DockerBackend(Agent& agent, LoopExecutor& executor, std::chrono::milliseconds timeout)
      : agent_(agent), executor_(executor), timeout_(timeout) {}

  // NetworkBackend
  Result<void> create_network(const plugins::docker::CreateNetworkRequest& request) override;
  Result<void> delete_network(const plugins::docker::NetworkRef& request) override;
  Result<plugins::docker::AllocateNetworkReply> allocate_network(
      const plugins::docker::AllocateNetworkRequest& request) override;
  Result<void> free_network(const plugins::docker::NetworkRef& request) override;
  Result<plugins::docker::EndpointInterface> create_endpoint(
      const plugins::docker::CreateEndpointRequest& request) override;
  Result<void> delete_endpoint(const plugins::docker::EndpointRef& request) override;
  Result<plugins::docker::EndpointOperInfoReply> endpoint_oper_info(
      const plugins::docker::EndpointRef& request) override;
  Result<plugins::docker::JoinReply> join(const plugins::docker::JoinRequest& request) override;
  Result<void> leave(const plugins::docker::EndpointRef& request) override;
  Result<void> discover_new(const plugins::docker::DiscoveryRequest& request) override;
  Result<void> discover_delete(const plugins::docker::DiscoveryRequest& request) override;
  Result<void> program_external_connectivity(
      const plugins::docker::ProgramExternalConnectivityRequest& request) override;
  Result<void> revoke_external_connectivity(const plugins::docker::EndpointRef& request) override;

  // IpamBackend
  Result<plugins::docker::AddressSpaces> default_address_spaces() override;
  Result<plugins::docker::RequestPoolReply> request_pool(const plugins::docker::RequestPoolRequest& request) override;
  Result<void> release_pool(const plugins::docker::PoolRef& request) override;
  Result<plugins::docker::RequestAddressReply> request_address(
      const plugins::docker::RequestAddressRequest& request) override;
  Result<void> release_address(const plugins::docker::ReleaseAddressRequest& request) override;

 private:
  template <class T, class Fn>
  Result<T> on_loop(const char* what, Fn fn) {
    return executor_.call<T>(what, timeout_, std::function<Result<T>()>(std::move(fn)));
  }

  Agent& agent_;
  LoopExecutor& executor_;
  std::chrono::milliseconds timeout_;
};

// Docker's default address spaces for Ferry's IPAM driver.
inline constexpr const char* kLocalAddressSpace = "FerryLocal";
inline constexpr const char* kGlobalAddressSpace = "FerryGlobal";

}  // namespace ferry::agent
