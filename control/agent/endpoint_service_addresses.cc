// EndpointService: addresses through the distributed IPAM (control/ipam,
// docs/ipam.md), and the address pools an IPAM front end (Docker's
// IpamDriver) hands out from.
//
// Each active cluster network's IPv4 subnet, and its IPv6 subnet if it has
// one, is a pool whose genesis owner is the network's creator (the same on
// every host). A pool's name carries a digest of the network's origin and
// subnet (pool_name), so a network removed and created again under the same
// name, maybe with another subnet, starts from a fresh pool instead of the
// old one's ownership map.
//
// The allocator's snapshot lives in <state_dir>/ipam.state, written before
// any address leaves the agent; state.json is written after it, so a crash
// between the two leaves at worst an allocation nobody uses, which
// release_orphans() frees on the next start.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "control/agent/endpoint_service.h"

namespace ferry::agent {

namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

IpAddress first_host(const IpPrefix& subnet) {
  IpAddress a = subnet.network().address;
  for (std::size_t i = a.size(); i-- > 0;) {
    if (++a.bytes[i] != 0) break;
  }
  return a;
}

std::string pool_name(const NetworkEntry& e, bool v6) {
  std::uint32_t h = 2166136261U;  // FNV-1a over what identifies this pool
  const std::string id = fmt::format("{}/{}/{}", e.owner, e.lamport, e.record.subnet_of(v6));
  for (const unsigned char c : id) h = (h ^ c) * 16777619U;
  return fmt::format("{}@{:08x}{}", e.record.name, h, v6 ? "/6" : "");
}

void EndpointService::ensure_pools(const NetworkView& view) {
  for (const auto& e : view.active) {
    for (const bool v6 : {false, true}) {
      const std::string& subnet = e.record.subnet_of(v6);
      const std::string name = pool_name(e, v6);
      if (subnet.empty() || ipam_.has_pool(name)) continue;
      auto r = ipam_.ensure_pool(name, subnet, e.owner);
      if (!r) {
        spdlog::warn("network {}: address pool for {} refused: {}", e.record.name, subnet, r.error().message);
        continue;
      }
      spdlog::info("network {}: address pool {} for {} ({} blocks of {}), genesis owner {}", e.record.name, name,
                   r->cidr(), r->num_blocks(), r->block_size, r->genesis);
    }
  }
}

std::string EndpointService::pool_of(const std::string& network, const IpAddress& address) const {
  const std::string prefix = network + "@";
  for (const auto& name : ipam_.pool_names()) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    auto a = ipam_.spec(name)->addr_of(address);
    if (a && ipam_.allocations(name).count(*a) != 0) return name;
  }
  return {};
}

void EndpointService::allocate_address(const std::string& network, bool v6, const std::string& handle,
                                       std::optional<IpAddress> wanted, AddressDone done, ipam::Order order) {
  const NetworkView view = network_view();
  const NetworkEntry* net = view.find(network);
  if (net == nullptr) return done(make_error("no active network {}", network));
  const std::string& subnet = net->record.subnet_of(v6);
  if (subnet.empty()) return done(make_error("network {} has no IPv6 subnet", network));
  ensure_pools(view);
  const std::string pool = pool_name(*net, v6);
  const ipam::PoolSpec* spec = ipam_.spec(pool);
  if (spec == nullptr) {
    return done(make_error("network {} has no address pool for {} (see the agent's log)", network, subnet));
  }
  std::optional<ipam::Addr> want;
  if (wanted) {
    auto a = spec->addr_of(*wanted);
    if (!a) return done(make_error("address {}: {}", wanted->to_string(), a.error().message));
    // Endpoints gossiped by hosts that predate a restore, or set up by hand:
    // never hand out an address another endpoint shows.
    if (used_addresses(network, spec->prefix()).count(*wanted) != 0) {
      return done(make_error("address {} is already in use", wanted->to_string()));
    }
    want = *a;
  }
  ipam_.allocate(
      pool, handle, want,
      [spec_copy = *spec, done = std::move(done)](Result<ipam::Addr> a) {
        if (!a) return done(a.error());
        done(spec_copy.ip_of(*a));
      },
      order);
}

void EndpointService::release_address_of(const std::string& network, const IpAddress& address) {
  const std::string pool = pool_of(network, address);
  if (pool.empty()) return;
  auto a = ipam_.spec(pool)->addr_of(address);
  if (!a) return;
  if (auto r = ipam_.release(pool, *a); !r) {
    spdlog::warn("network {}: releasing {}: {}", network, address.to_string(), r.error().message);
  }
}

void EndpointService::release_everywhere(const IpPrefix& subnet, const IpAddress& address) {
  for (const auto& name : ipam_.pool_names()) {
    const ipam::PoolSpec* spec = ipam_.spec(name);
    if (spec->prefix() != subnet) continue;
    auto a = spec->addr_of(address);
    if (a && ipam_.allocations(name).count(*a) != 0) {
      if (auto r = ipam_.release(name, *a); !r) {
        spdlog::warn("pool {}: releasing {}: {}", name, address.to_string(), r.error().message);
      }
    }
  }
}

std::set<IpAddress> EndpointService::used_addresses(const std::string& network, const IpPrefix& subnet) const {
  std::set<IpAddress> used;
  auto add = [&](const std::optional<IpPrefix>& p) {
    if (p && subnet.contains(p->address)) used.insert(p->address);
  };
  for (const auto& [n, ep] : state().endpoints) {
    if (ep.network != network) continue;
    add(ep.ip);
    add(ep.ip6);
  }
  for (const auto& e : network_view().active) {
    if (e.record.name != network) continue;
    for (const auto& rec : endpoints_.list(e.record.name)) {
      add(rec.ipv4_prefix());
      add(rec.ipv6_prefix());
    }
  }
  return used;
}

std::optional<std::string> EndpointService::mac_owner(const std::string& network, const MacAddress& mac) const {
  for (const auto& [n, ep] : state().endpoints) {
    if (ep.network == network && ep.mac == mac) return fmt::format("{} (this host)", ep.id);
  }
  for (const auto& rec : endpoints_.list(network)) {
    if (rec.mac == mac) return fmt::format("{} ({})", rec.endpoint_id, rec.owner);
  }
  return std::nullopt;
}

void EndpointService::release_orphans() {
  for (const auto& pool : ipam_.pool_names()) {
    const ipam::PoolSpec* spec = ipam_.spec(pool);
    const std::string network = pool.substr(0, pool.find('@'));
    std::set<IpAddress> used;
    for (const auto& [n, ep] : state().endpoints) {
      if (ep.network != network) continue;
      used.insert(ep.ip.address);
      if (ep.ip6) used.insert(ep.ip6->address);
    }
    for (const auto& [id, dp] : state().pools) {
      if (dp.subnet == spec->prefix()) used.insert(dp.addresses.begin(), dp.addresses.end());
    }
    for (const auto& [a, handle] : ipam_.allocations(pool)) {
      const IpAddress ip = spec->ip_of(a);
      if (used.count(ip) != 0) continue;
      spdlog::info("network {}: address {} ({}) was allocated but never used (crash before the reply): released",
                   network, ip.to_string(), handle.empty() ? std::string("Docker") : handle);
      if (auto r = ipam_.release(pool, a); !r) {
        spdlog::warn("network {}: releasing {}: {}", network, ip.to_string(), r.error().message);
      }
    }
  }
}

void EndpointService::check_conflicts() {
  const auto& all = ipam_.conflicts();
  for (; conflicts_seen_ < all.size(); ++conflicts_seen_) {
    const ipam::Conflict& c = all[conflicts_seen_];
    const ipam::PoolSpec* spec = ipam_.spec(c.pool);
    const std::string text = spec != nullptr ? spec->format(c.address) : std::to_string(c.address);
    std::string who = "no endpoint";
    if (spec != nullptr) {
      const IpAddress ip = spec->ip_of(c.address);
      for (const auto& [n, ep] : state().endpoints) {
        if (ep.ip.address == ip || (ep.ip6 && ep.ip6->address == ip)) who = fmt::format("endpoint {} ({})", n, ep.id);
      }
    }
    spdlog::error(
        "pool {}: address {} held by {} lies in space now owned by {} (reclaimed while this host was cut off or "
        "restored from old state): it may be handed out there too; give the endpoint a new address (detach and "
        "attach again)",
        c.pool, text, who, c.new_owner);
  }
}

// ---- address pools ----

Result<std::uint32_t> EndpointService::request_pool(const PoolRequest& request) {
  auto order_name = [](bool serial) { return serial ? "serially (com.docker.network.ipam.serial)" : "first-free"; };
  if (auto it = state().pools.find(request.id); it != state().pools.end() && it->second.serial != request.serial) {
    return make_error("pool {} is in use and allocates {}, not {}: its networks must ask the same", request.id,
                      order_name(it->second.serial), order_name(request.serial));
  }
  StateTransaction tx(store_);
  IpamPool& pool = tx.pool(request.id);
  pool.id = request.id;
  pool.subnet = request.subnet;
  pool.serial = request.serial;
  ++pool.refs;
  const std::uint32_t refs = pool.refs;
  if (auto r = tx.persist(); !r) return r.error();
  tx.commit();
  spdlog::info("IPAM pool {} requested ({} references, allocates {})", request.id, refs, order_name(request.serial));
  return refs;
}

Result<void> EndpointService::release_pool(const std::string& id) {
  auto it = state().pools.find(id);
  if (it == state().pools.end()) return make_error("unknown pool {}", id);
  // Addresses still reserved when the last reference goes were never
  // released by Docker (it leaks the IPv4 address when the IPv6 request of
  // the same endpoint fails): they go back to the allocator with it.
  std::set<IpAddress> leftover;
  const IpPrefix subnet = it->second.subnet;
  StateTransaction tx(store_);
  if (it->second.refs <= 1) {
    leftover = it->second.addresses;
    tx.erase_pool(id);
  } else {
    --tx.pool(id).refs;
  }
  if (auto r = tx.persist(); !r) return r;
  tx.commit();
  for (const IpAddress& address : leftover) {
    release_everywhere(subnet, address);
    spdlog::warn("IPAM pool {}: address {} was still reserved when the pool was released: freed", id,
                 address.to_string());
  }
  spdlog::info("IPAM pool {} released", id);
  return ok();
}

void EndpointService::request_address(const std::string& pool_id, std::optional<IpAddress> wanted,
                                      const std::function<void(Result<IpAddress>)>& done, bool serial) {
  auto it = state().pools.find(pool_id);
  if (it == state().pools.end()) return done(make_error("unknown pool {}", pool_id));
  const IpamPool& pool = it->second;
  if (wanted && (wanted->family == Family::kIPv6) != pool.v6()) {
    return done(make_error("{} is not an {} address", wanted->to_string(), pool.v6() ? "IPv6" : "IPv4"));
  }
  // The cluster network: the one a network using this pool is bound to,
  // else the only active network with this subnet.
  std::string network;
  for (const auto& [id, d] : state().docker_networks) {
    if (d.pool_id == pool_id || d.pool6_id == pool_id) network = d.network;
  }
  if (network.empty()) {
    int found = 0;
    const std::string subnet = pool.subnet.to_string();
    for (const auto& e : network_view().active) {
      if (e.record.subnet_of(pool.v6()) == subnet) {
        network = e.record.name;
        ++found;
      }
    }
    if (found != 1) {
      return done(make_error(
          "pool {}: no Docker network bound to a Ferry network uses it yet (addresses reserved before the network "
          "exists, such as --aux-address, are not supported)",
          pool_id));
    }
  }
  // Anonymous allocation (the front end names no endpoint here); the
  // address is then kept in the pool's reservations (state.json) before the
  // answer.
  const ipam::Order order = serial || pool.serial ? ipam::Order::kSerial : ipam::Order::kFirstFree;
  allocate_address(
      network, pool.v6(), "", wanted,
      [this, pool_id, network, done](Result<IpAddress> ip) {
        if (!ip) return done(make_error("pool {}: {}", pool_id, ip.error().message));
        if (state().pools.count(pool_id) == 0) {  // released while the allocation waited
          release_address_of(network, *ip);
          return done(make_error("pool {} was released", pool_id));
        }
        StateTransaction tx(store_);
        IpamPool& reserved = tx.pool(pool_id);
        reserved.addresses.insert(*ip);
        reserved.unclaimed[*ip] = wall_ms();
        if (auto r = tx.persist(); !r) {
          release_address_of(network, *ip);
          return done(r.error());
        }
        tx.commit();
        spdlog::info("IPAM pool {}: address {} reserved (network {})", pool_id, ip->to_string(), network);
        done(*ip);
      },
      order);
}

Result<void> EndpointService::release_address(const std::string& pool_id, const IpAddress& address) {
  auto it = state().pools.find(pool_id);
  if (it == state().pools.end()) return make_error("unknown pool {}", pool_id);
  if (it->second.addresses.count(address) == 0) {
    if (address == first_host(it->second.subnet)) return ok();  // the gateway: never reserved
    return make_error("address {} is not allocated in pool {}", address.to_string(), pool_id);
  }
  const IpPrefix subnet = it->second.subnet;
  StateTransaction tx(store_);
  IpamPool& pool = tx.pool(pool_id);
  pool.addresses.erase(address);
  pool.unclaimed.erase(address);
  if (auto r = tx.persist(); !r) return r;
  tx.commit();
  // Back to the allocator of the pool holding it (after state.json: a crash
  // in between leaves an orphan that the next start frees).
  release_everywhere(subnet, address);
  spdlog::info("IPAM pool {}: address {} released", pool_id, address.to_string());
  return ok();
}

void EndpointService::expire_unclaimed() {
  if (config_.docker_claim_timeout.count() == 0) return;
  const std::int64_t cutoff = wall_ms() - config_.docker_claim_timeout.count();
  std::vector<std::pair<std::string, IpAddress>> expired;
  for (const auto& [id, pool] : state().pools) {
    for (const auto& [address, since] : pool.unclaimed) {
      if (since <= cutoff) expired.emplace_back(id, address);
    }
  }
  for (const auto& [id, address] : expired) {
    StateTransaction tx(store_);
    IpamPool& pool = tx.pool(id);
    pool.addresses.erase(address);
    pool.unclaimed.erase(address);
    const IpPrefix subnet = pool.subnet;
    if (auto r = tx.persist(); !r) {
      spdlog::warn("IPAM pool {}: releasing unused address {}: {}", id, address.to_string(), r.error().message);
      return;  // the next check tries again
    }
    tx.commit();
    spdlog::warn(
        "IPAM pool {}: address {} was reserved by Docker {} s ago and no endpoint used it (Docker never got the "
        "reply): released",
        id, address.to_string(), config_.docker_claim_timeout.count() / 1000);
    release_everywhere(subnet, address);
  }
}

}  // namespace ferry::agent
