// LocalIpam: Docker's IPAM driver for address space this host owns outright.
// Pools are explicit subnets (Ferry never invents one: cluster subnets must
// be the same on every host), reference-counted by (space, pool, sub-pool);
// addresses come from a bitmap per pool with next-fit allocation. The
// cluster-wide IPAM (hosts owning disjoint parts of a pool, issue 5) reuses
// this for the ranges a host owns; on a single host it is the whole IPAM.
//
// Rules (as Docker's default IPAM): IPv4 pools reserve the network and
// broadcast addresses (except /31 and /32); IPv6 pools reserve the
// subnet-router address (offset 0). A gateway request without an address
// gets the pool's first usable address; an endpoint request without one gets
// the next free address of the sub-pool (or the pool). Pools in one address
// space never overlap (the same subnet with another sub-pool counts as an
// overlap). Only the first `max_pool_addresses` addresses of a
// large (IPv6) pool are allocatable.
//
// Thread-safe (one mutex); calls are short and never block on I/O.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "plugins/docker/address_bitmap.h"
#include "plugins/docker/ipam_backend.h"

namespace ferry::plugins::docker {

struct LocalIpamConfig {
  std::string local_address_space = "FerryLocal";
  std::string global_address_space = "FerryGlobal";
  std::uint64_t max_pool_addresses = std::uint64_t{1} << 20;  // bitmap slots per pool (128 KiB)

  [[nodiscard]] Result<void> validate() const;
};

// A pool as the admin API shows it.
struct PoolInfo {
  std::string pool_id;
  IpPrefix pool;
  std::optional<IpPrefix> sub_pool;
  int references = 0;
  std::vector<IpAddress> allocated;  // ascending
};

class LocalIpam : public IpamBackend {
 public:
  explicit LocalIpam(LocalIpamConfig config = {}) : config_(std::move(config)) {}

  Result<AddressSpaces> default_address_spaces() override;
  Result<RequestPoolReply> request_pool(const RequestPoolRequest& request) override;
  Result<void> release_pool(const PoolRef& request) override;
  Result<RequestAddressReply> request_address(const RequestAddressRequest& request) override;
  Result<void> release_address(const ReleaseAddressRequest& request) override;

  [[nodiscard]] std::vector<PoolInfo> pools() const;

 private:
  struct Pool {
    std::string address_space;
    IpPrefix prefix;                   // network form
    std::optional<IpPrefix> sub_pool;  // network form
    int references = 0;
    std::uint64_t slots = 0;        // addresses covered by the bitmap
    std::uint64_t range_begin = 0;  // endpoint allocation range [begin, end) (the sub-pool)
    std::uint64_t range_end = 0;
    AddressBitmap bitmap{0};
    bool first_reserved = false;  // IPv4 network address / IPv6 subnet-router anycast
    bool last_reserved = false;   // IPv4 broadcast (when the bitmap reaches it)

    [[nodiscard]] bool reserved(std::uint64_t slot) const {
      return (first_reserved && slot == 0) || (last_reserved && slot == slots - 1);
    }
  };

  // Slot of `ip` in `pool`, or an error saying why it cannot be handed out.
  [[nodiscard]] Result<std::uint64_t> slot_of(const std::string& pool_id, const Pool& pool, const IpAddress& ip) const;

  LocalIpamConfig config_;
  mutable std::mutex mutex_;
  std::map<std::string, Pool> pools_;  // by pool id
};

// Offset of `ip` from the start of `network` (network form), if `ip` is in
// it and the offset is below `limit`. Pure; exposed for tests.
[[nodiscard]] std::optional<std::uint64_t> host_offset(const IpPrefix& network, const IpAddress& ip,
                                                       std::uint64_t limit);
// The address `offset` places after the start of `network`.
[[nodiscard]] IpAddress address_at(const IpPrefix& network, std::uint64_t offset);

}  // namespace ferry::plugins::docker
