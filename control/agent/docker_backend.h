// Docker's remote NetworkDriver and IpamDriver (plugins/docker) as a front
// end of the EndpointService. The plugin server's thread decodes each call
// (plugins/docker/codec.h) and hands it to DockerBackend, which runs it on
// the agent's loop thread through the LoopExecutor: Docker's typed request
// becomes a service request (a Docker network is a binding, its endpoints
// are two-step endpoints, its IPAM pools are the service's address pools)
// and the result becomes Docker's reply. Docker's own rules live here: the
// `ferry.network`/`ferry.vni` options, the address spaces, a gateway that
// must be the subnet's first host, overlapping local pools. Calls with no
// state (discovery, external connectivity, swarm allocation) are answered
// on the plugin thread. docs/plugin.md lists what each method does.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "control/agent/endpoint_service.h"
#include "control/agent/loop_executor.h"
#include "plugins/docker/call_log.h"
#include "plugins/docker/ipam_backend.h"
#include "plugins/docker/network_backend.h"
#include "plugins/http/unix_http_server.h"

namespace ferry::agent {

// Docker's default address spaces for Ferry's IPAM driver.
inline constexpr const char* kLocalAddressSpace = "FerryLocal";
inline constexpr const char* kGlobalAddressSpace = "FerryGlobal";

class DockerBackend final : public plugins::docker::NetworkBackend, public plugins::docker::IpamBackend {
 public:
  DockerBackend(EndpointService& service, LoopExecutor& executor, std::chrono::milliseconds timeout)
      : service_(service), executor_(executor), timeout_(timeout) {}

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
  // The calls themselves, on the loop thread.
  Result<void> do_create_network(const plugins::docker::CreateNetworkRequest& request);
  Result<plugins::docker::EndpointInterface> do_create_endpoint(const plugins::docker::CreateEndpointRequest& request);
  Result<plugins::docker::EndpointOperInfoReply> do_oper_info(const plugins::docker::EndpointRef& request);
  Result<plugins::docker::JoinReply> do_join(const plugins::docker::JoinRequest& request);
  Result<plugins::docker::RequestPoolReply> do_request_pool(const plugins::docker::RequestPoolRequest& request);

  EndpointService& service_;
  LoopExecutor& executor_;
  std::chrono::milliseconds timeout_;
};

// The Docker plugin: its socket's HTTP server, the backend behind it and the
// log of the latest calls (every call is also logged at debug level with
// both bodies).
class DockerPlugin {
 public:
  // Serves `socket_path` (mode 0660) from a thread of its own.
  static Result<std::unique_ptr<DockerPlugin>> start(const std::string& socket_path, EndpointService& service,
                                                     LoopExecutor& executor, std::chrono::milliseconds timeout);
  ~DockerPlugin();
  DockerPlugin(const DockerPlugin&) = delete;
  DockerPlugin& operator=(const DockerPlugin&) = delete;
  // Stops serving; calls in flight fail once the executor is closed.
  void stop();
  // The latest calls, what dockerd sent and what it got (ferryctl
  // plugin-calls). Thread-safe.
  [[nodiscard]] const plugins::docker::CallLog& calls() const { return calls_; }

 private:
  DockerPlugin() = default;
  plugins::docker::CallLog calls_;
  std::unique_ptr<DockerBackend> backend_;
  std::unique_ptr<plugins::UnixHttpServer> server_;
};

}  // namespace ferry::agent
