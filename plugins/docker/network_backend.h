// What ferry-agent implements to act as Docker's remote network driver. The
// Dispatcher decodes and validates Docker's JSON and calls these with typed
// requests; a returned Error becomes {"Err": message} with HTTP 500.
//
// Threading contract: all calls come from the plugin server's own thread,
// one at a time (never concurrently). An implementation shares state with
// the agent's other threads (gossip, reconciler) under its own locking, and
// should answer promptly: while a call runs no other plugin request is read
// or answered. A failed call must leave no trace (Docker retries or rolls
// back; a half-created endpoint would leak).
#pragma once

#include "common/result.h"
#include "plugins/docker/messages.h"

namespace ferry::plugins::docker {

class NetworkBackend {
 public:
  virtual ~NetworkBackend() = default;

  // Error when the ID exists already (duplicate create) or the data is refused.
  virtual Result<void> create_network(const CreateNetworkRequest& request) = 0;
  // Error when the network is unknown or still has endpoints.
  virtual Result<void> delete_network(const NetworkRef& request) = 0;
  // Swarm-manager calls; a local-scope driver may answer with empty options.
  virtual Result<AllocateNetworkReply> allocate_network(const AllocateNetworkRequest& request) = 0;
  virtual Result<void> free_network(const NetworkRef& request) = 0;

  // Returns the endpoint's interface as the backend settled it: Docker's
  // values where it gave them, the backend's choices (a generated MAC when
  // Docker sent none) otherwise. The codec leaves out what Docker supplied.
  virtual Result<EndpointInterface> create_endpoint(const CreateEndpointRequest& request) = 0;
  virtual Result<void> delete_endpoint(const EndpointRef& request) = 0;
  virtual Result<EndpointOperInfoReply> endpoint_oper_info(const EndpointRef& request) = 0;

  // Join creates the interface Docker moves into the sandbox; Leave undoes it.
  virtual Result<JoinReply> join(const JoinRequest& request) = 0;
  virtual Result<void> leave(const EndpointRef& request) = 0;

  virtual Result<void> discover_new(const DiscoveryRequest& request) = 0;
  virtual Result<void> discover_delete(const DiscoveryRequest& request) = 0;

  virtual Result<void> program_external_connectivity(const ProgramExternalConnectivityRequest& request) = 0;
  virtual Result<void> revoke_external_connectivity(const EndpointRef& request) = 0;
};

}  // namespace ferry::plugins::docker
