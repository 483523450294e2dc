#include "plugins/docker/local_ipam.h"

#include "common/log.h"

namespace ferry::plugins::docker {

namespace {

// Number of addresses in `prefix`, capped at `cap`.
std::uint64_t capped_size(const IpPrefix& prefix, std::uint64_t cap) {
  const unsigned host_bits = prefix.address.max_prefix_length() - prefix.length;
  if (host_bits >= 64) return cap;
  return std::min(cap, std::uint64_t{1} << host_bits);
}

bool overlaps(const IpPrefix& a, const IpPrefix& b) {
  return a.address.family == b.address.family && (a.contains(b.address) || b.contains(a.address));
}

}  // namespace

std::optional<std::uint64_t> host_offset(const IpPrefix& network, const IpAddress& ip, std::uint64_t limit) {
  if (!network.contains(ip)) return std::nullopt;
  const std::size_t size = ip.size();
  // Offsets that fit in 64 bits live in the last 8 bytes; anything above is too far.
  for (std::size_t i = 0; i + 8 < size; ++i) {
    if ((ip.bytes[i] ^ network.address.bytes[i]) != 0) return std::nullopt;
  }
  std::uint64_t ip_low = 0;
  std::uint64_t net_low = 0;
  for (std::size_t i = size > 8 ? size - 8 : 0; i < size; ++i) {
    ip_low = ip_low << 8 | ip.bytes[i];
    net_low = net_low << 8 | network.address.bytes[i];
  }
  const std::uint64_t offset = ip_low - net_low;
  if (offset >= limit) return std::nullopt;
  return offset;
}

IpAddress address_at(const IpPrefix& network, std::uint64_t offset) {
  IpAddress ip = network.address;
  std::uint64_t carry = offset;
  for (std::size_t i = ip.size(); i-- > 0 && carry != 0;) {
    const std::uint64_t sum = ip.bytes[i] + (carry & 0xff);
    ip.bytes[i] = static_cast<std::uint8_t>(sum);
    carry = (carry >> 8) + (sum >> 8);
  }
  return ip;
}

Result<void> LocalIpamConfig::validate() const {
  if (local_address_space.empty() || global_address_space.empty()) return make_error("address space names are empty");
  if (local_address_space == global_address_space) return make_error("local and global address spaces are the same");
  if (max_pool_addresses < 4 || max_pool_addresses > (std::uint64_t{1} << 24)) {
    return make_error("max pool addresses must be in [4, 2^24], got {}", max_pool_addresses);
  }
  return ok();
}

Result<AddressSpaces> LocalIpam::default_address_spaces() {
  return AddressSpaces{config_.local_address_space, config_.global_address_space};
}

Result<RequestPoolReply> LocalIpam::request_pool(const RequestPoolRequest& request) {
  if (request.address_space != config_.local_address_space && request.address_space != config_.global_address_space) {
    return make_error("unknown address space \"{}\" (this driver has \"{}\" and \"{}\")", request.address_space,
                      config_.local_address_space, config_.global_address_space);
  }
  if (!request.pool) {
    return make_error("no subnet given: Ferry networks need one (docker network create --subnet CIDR)");
  }
  const IpPrefix prefix = request.pool->network();
  const std::optional<IpPrefix> sub_pool =
      request.sub_pool ? std::optional<IpPrefix>(request.sub_pool->network()) : std::nullopt;
  std::string pool_id = fmt::format("{}/{}", request.address_space, prefix.to_string());
  if (sub_pool) pool_id = fmt::format("{}/{}", pool_id, sub_pool->to_string());

  const std::lock_guard lock(mutex_);
  if (auto it = pools_.find(pool_id); it != pools_.end()) {
    ++it->second.references;
    return RequestPoolReply{pool_id, prefix, {}};
  }
  for (const auto& [id, pool] : pools_) {
    // Each pool has its own bitmap, so overlapping pools (even the same
    // subnet with another sub-pool) could hand out one address twice.
    if (pool.address_space != request.address_space || !overlaps(pool.prefix, prefix)) continue;
    return make_error("pool {} overlaps pool {} in use", prefix.to_string(), id);
  }
  Pool pool;
  pool.address_space = request.address_space;
  pool.prefix = prefix;
  pool.sub_pool = sub_pool;
  pool.references = 1;
  pool.slots = capped_size(prefix, config_.max_pool_addresses);
  pool.bitmap = AddressBitmap(pool.slots);
  // Reserved slots: IPv4 network + broadcast (not on /31, /32), IPv6 subnet-router anycast.
  const bool v4 = prefix.address.family == IpFamily::kV4;
  pool.first_reserved = v4 ? prefix.length <= 30 : prefix.length < 128;
  pool.last_reserved = v4 && prefix.length <= 30 && pool.slots == (std::uint64_t{1} << (32 - prefix.length));
  if (pool.first_reserved) pool.bitmap.set(0);
  if (pool.last_reserved) pool.bitmap.set(pool.slots - 1);
  pool.range_begin = 0;
  pool.range_end = pool.slots;
  if (sub_pool) {
    const auto begin = host_offset(prefix, sub_pool->address, pool.slots);
    if (!begin) {
      return make_error("sub-pool {} lies beyond the first {} addresses of pool {}", sub_pool->to_string(), pool.slots,
                        prefix.to_string());
    }
    pool.range_begin = *begin;
    pool.range_end = std::min(pool.slots, *begin + capped_size(*sub_pool, config_.max_pool_addresses));
  }
  spdlog::info("ipam: pool {} created", pool_id);
  pools_.emplace(pool_id, std::move(pool));
  return RequestPoolReply{pool_id, prefix, {}};
}

Result<void> LocalIpam::release_pool(const PoolRef& request) {
  const std::lock_guard lock(mutex_);
  const auto it = pools_.find(request.pool_id);
  if (it == pools_.end()) return make_error("pool {} not found", request.pool_id);
  if (--it->second.references > 0) return ok();
  // Reserved slots are not counted as addresses in use.
  const std::uint64_t reserved = (it->second.first_reserved ? 1 : 0) + (it->second.last_reserved ? 1 : 0);
  if (it->second.bitmap.used() > reserved) {
    spdlog::warn("ipam: pool {} released with {} addresses still allocated", request.pool_id,
                 it->second.bitmap.used() - reserved);
  }
  pools_.erase(it);
  spdlog::info("ipam: pool {} released", request.pool_id);
  return ok();
}

Result<std::uint64_t> LocalIpam::slot_of(const std::string& pool_id, const Pool& pool, const IpAddress& ip) const {
  if (!pool.prefix.contains(ip)) return make_error("address {} is outside pool {}", ip.to_string(), pool_id);
  const auto slot = host_offset(pool.prefix, ip, pool.slots);
  if (!slot) {
    return make_error("address {} lies beyond the first {} addresses of pool {}", ip.to_string(), pool.slots, pool_id);
  }
  return *slot;
}

Result<RequestAddressReply> LocalIpam::request_address(const RequestAddressRequest& request) {
  const std::lock_guard lock(mutex_);
  const auto it = pools_.find(request.pool_id);
  if (it == pools_.end()) return make_error("pool {} not found", request.pool_id);
  Pool& pool = it->second;
  std::uint64_t slot = 0;
  if (request.address) {
    auto wanted = slot_of(request.pool_id, pool, *request.address);
    if (!wanted) return std::move(wanted).error();
    if (pool.bitmap.test(*wanted)) {
      return make_error("address {} is {} in pool {}", request.address->to_string(),
                        pool.reserved(*wanted) ? "reserved" : "already allocated", request.pool_id);
    }
    pool.bitmap.set(*wanted);
    slot = *wanted;
  } else {
    // Gateways take the first usable address of the whole pool; endpoints
    // the next free one of the sub-pool.
    const bool gateway = request.type == AddressRequestType::kGateway;
    std::optional<std::uint64_t> free;
    if (gateway) {
      for (std::uint64_t i = 0; i < pool.slots && !free; ++i) {
        if (!pool.bitmap.test(i)) free = i;
      }
      if (free) pool.bitmap.set(*free);
    } else {
      free = pool.bitmap.allocate(pool.range_begin, pool.range_end);
    }
    if (!free) return make_error("pool {} has no free address", request.pool_id);
    slot = *free;
  }
  const IpAddress address = address_at(pool.prefix, slot);
  spdlog::debug("ipam: {} allocated in {}", address.to_string(), request.pool_id);
  return RequestAddressReply{IpPrefix{address, pool.prefix.length}, {}};
}

Result<void> LocalIpam::release_address(const ReleaseAddressRequest& request) {
  const std::lock_guard lock(mutex_);
  const auto it = pools_.find(request.pool_id);
  if (it == pools_.end()) return make_error("pool {} not found", request.pool_id);
  Pool& pool = it->second;
  auto slot = slot_of(request.pool_id, pool, request.address);
  if (!slot) return std::move(slot).error();
  if (pool.reserved(*slot)) {
    return make_error("address {} is reserved in pool {}", request.address.to_string(), request.pool_id);
  }
  if (!pool.bitmap.clear(*slot)) {
    return make_error("address {} is not allocated in pool {}", request.address.to_string(), request.pool_id);
  }
  return ok();
}

std::vector<PoolInfo> LocalIpam::pools() const {
  const std::lock_guard lock(mutex_);
  std::vector<PoolInfo> out;
  for (const auto& [id, pool] : pools_) {
    PoolInfo info{id, pool.prefix, pool.sub_pool, pool.references, {}};
    for (std::uint64_t slot = 0; slot < pool.slots; ++slot) {
      if (pool.bitmap.test(slot) && !pool.reserved(slot)) info.allocated.push_back(address_at(pool.prefix, slot));
    }
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace ferry::plugins::docker
