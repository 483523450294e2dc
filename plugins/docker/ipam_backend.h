// What ferry-agent implements to act as Docker's remote IPAM driver. Same
// threading contract as NetworkBackend (network_backend.h): calls come from
// the plugin server thread, one at a time; a failed call changes nothing.
#pragma once

#include "common/result.h"
#include "plugins/docker/messages.h"

namespace ferry::plugins::docker {

class IpamBackend {
 public:
  virtual ~IpamBackend() = default;

  virtual Result<AddressSpaces> default_address_spaces() = 0;
  // Idempotent and reference-counted: the same pool requested twice gets the
  // same PoolID and needs two ReleasePool calls.
  virtual Result<RequestPoolReply> request_pool(const RequestPoolRequest& request) = 0;
  virtual Result<void> release_pool(const PoolRef& request) = 0;
  // Gateway requests (type kGateway) usually name the address ("10.10.0.1").
  virtual Result<RequestAddressReply> request_address(const RequestAddressRequest& request) = 0;
  virtual Result<void> release_address(const ReleaseAddressRequest& request) = 0;
};

}  // namespace ferry::plugins::docker
