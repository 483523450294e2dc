// Agent: addresses through the distributed IPAM (control/ipam, docs/ipam.md).
// Each active cluster network's IPv4 subnet, and its IPv6 subnet if it has
// one, is a pool whose genesis owner is the network's creator (the same on
// every host). A pool's name carries a digest of the network's origin and
// subnet (pool_name), so a network removed and created again under the same
// name, maybe with another subnet, starts from a fresh pool instead of the
// old one's ownership map. Addresses cross this layer as canonical text
// (dotted quad, RFC 5952 IPv6), whatever the family.
//
// The allocator's snapshot lives in <state_dir>/ipam.state, written before
// any address leaves the agent; state.json is written after it, so a crash
// between the two leaves at worst an allocation nobody uses, which
// release_orphans() frees on the next start.
#include <spdlog/spdlog.h>

#include "common/ip_address.h"
#include "control/agent/agent.h"
#include "control/agent/state_file.h"

namespace ferry::agent {

using nlohmann::json;

namespace {

// The address part of "ADDR/LEN", canonical; "" if it does not parse.
std::string address_of(const std::string& cidr) {
  if (cidr.empty()) return {};
  auto p = parse_prefix(cidr);
  return p ? p->address.to_string() : std::string();
}

}  // namespace

std::string first_host(std::string_view subnet) {
  auto p = parse_prefix(subnet);
  if (!p) return {};
  IpAddress a = p->network().address;
  for (std::size_t i = a.size(); i-- > 0;) {
    if (++a.bytes[i] != 0) break;
  }
  return a.to_string();
}

std::string pool_name(const NetworkEntry& e, bool v6) {
  std::uint32_t h = 2166136261U;  // FNV-1a over what identifies this pool
  const std::string id = fmt::format("{}/{}/{}", e.owner, e.lamport, e.record.subnet_of(v6));
  for (const unsigned char c : id) h = (h ^ c) * 16777619U;
  return fmt::format("{}@{:08x}{}", e.record.name, h, v6 ? "/6" : "");
}

Result<void> Agent::save_ipam(const std::string& snapshot) {
  return write_file_atomic(config_.state_dir + "/ipam.state", snapshot);
}

void Agent::ensure_pools(const NetworkView& view) {
  for (const auto& e : view.active) {
    for (const bool v6 : {false, true}) {
      const std::string& subnet = e.record.subnet_of(v6);
      const std::string name = pool_name(e, v6);
      if (subnet.empty() || ipam_->has_pool(name)) continue;
      auto r = ipam_->ensure_pool(name, subnet, e.owner);
      if (!r) {
        spdlog::warn("network {}: address pool for {} refused: {}", e.record.name, subnet, r.error().message);
        continue;
      }
      spdlog::info("network {}: address pool {} for {} ({} blocks of {}), genesis owner {}", e.record.name, name,
                   r->cidr(), r->num_blocks(), r->block_size, r->genesis);
    }
  }
}

std::string Agent::pool_of(const std::string& network, const std::string& address) const {
  const std::string prefix = network + "@";
  for (const auto& name : ipam_->pool_names()) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const ipam::PoolSpec* spec = ipam_->spec(name);
    auto a = spec->parse(address);
    if (a && ipam_->allocations(name).count(*a) != 0) return name;
  }
  return {};
}

void Agent::allocate_address(const std::string& network, bool v6, const std::string& handle,
                             std::optional<std::string> requested, AddressDone done) {
  const NetworkView view = network_view();
  const NetworkEntry* net = view.find(network);
  if (net == nullptr) return done(make_error("no active network {}", network));
  const std::string& subnet = net->record.subnet_of(v6);
  if (subnet.empty()) return done(make_error("network {} has no IPv6 subnet", network));
  ensure_pools(view);
  const std::string pool = pool_name(*net, v6);
  const ipam::PoolSpec* spec = ipam_->spec(pool);
  if (spec == nullptr) {
    return done(make_error("network {} has no address pool for {} (see the agent's log)", network, subnet));
  }
  std::optional<ipam::Addr> want;
  if (requested) {
    auto a = spec->parse(*requested);
    if (!a) return done(make_error("address {}: {}", *requested, a.error().message));
    // Endpoints gossiped by hosts that predate a restore, or set up by hand:
    // never hand out an address another endpoint shows.
    if (used_addresses(network, subnet).count(spec->format(*a)) != 0) {
      return done(make_error("address {} is already in use", *requested));
    }
    want = *a;
  }
  ipam_->allocate(pool, handle, want, [spec_copy = *spec, done = std::move(done)](Result<ipam::Addr> a) {
    if (!a) return done(a.error());
    done(spec_copy.format(*a));
  });
}

void Agent::release_address(const std::string& network, const std::string& address) {
  const std::string pool = pool_of(network, address);
  if (pool.empty()) return;
  auto a = ipam_->spec(pool)->parse(address);
  if (!a) return;
  if (auto r = ipam_->release(pool, *a); !r) {
    spdlog::warn("network {}: releasing {}: {}", network, address, r.error().message);
  }
}

std::set<std::string> Agent::used_addresses(const std::string& network, const std::string& subnet) const {
  std::set<std::string> used;
  auto net = parse_prefix(subnet);
  if (!net) return used;
  auto add = [&](const std::string& cidr) {
    auto p = parse_prefix(cidr);
    if (p && net->contains(p->address)) used.insert(p->address.to_string());
  };
  for (const auto& [n, ep] : state_.endpoints) {
    if (ep.network != network) continue;
    add(ep.ip_cidr);
    add(ep.ip6_cidr);
  }
  for (const auto& e : network_view().active) {
    if (e.record.name != network) continue;
    for (const auto& rec : endpoints_->list(e.record.name)) {
      if (rec.ipv4) add(rec.ipv4_string());
      if (rec.ipv6) add(rec.ipv6_string());
    }
  }
  return used;
}

std::optional<std::string> Agent::mac_owner(const std::string& network, const MacAddress& mac) const {
  for (const auto& [n, ep] : state_.endpoints) {
    if (ep.network != network) continue;
    if (auto m = parse_mac(ep.mac); m && *m == mac) return fmt::format("{} (this host)", ep.id);
  }
  for (const auto& rec : endpoints_->list(network)) {
    if (rec.mac == mac) return fmt::format("{} ({})", rec.endpoint_id, rec.owner);
  }
  return std::nullopt;
}

void Agent::release_orphans() {
  for (const auto& pool : ipam_->pool_names()) {
    const ipam::PoolSpec* spec = ipam_->spec(pool);
    const std::string network = pool.substr(0, pool.find('@'));
    std::set<std::string> used;
    for (const auto& [n, ep] : state_.endpoints) {
      if (ep.network != network) continue;
      used.insert(address_of(ep.ip_cidr));
      used.insert(address_of(ep.ip6_cidr));
    }
    for (const auto& [id, dp] : state_.pools) {
      if (dp.subnet == spec->cidr()) used.insert(dp.addresses.begin(), dp.addresses.end());
    }
    for (const auto& [a, handle] : ipam_->allocations(pool)) {
      const std::string text = spec->format(a);
      if (used.count(text) != 0) continue;
      spdlog::info("network {}: address {} ({}) was allocated but never used (crash before the reply): released",
                   network, text, handle.empty() ? std::string("Docker") : handle);
      if (auto r = ipam_->release(pool, a); !r) {
        spdlog::warn("network {}: releasing {}: {}", network, text, r.error().message);
      }
    }
  }
}

void Agent::check_conflicts() {
  const auto& all = ipam_->conflicts();
  for (; conflicts_seen_ < all.size(); ++conflicts_seen_) {
    const ipam::Conflict& c = all[conflicts_seen_];
    const ipam::PoolSpec* spec = ipam_->spec(c.pool);
    const std::string text = spec != nullptr ? spec->format(c.address) : std::to_string(c.address);
    std::string who = "no endpoint";
    for (const auto& [n, ep] : state_.endpoints) {
      if (address_of(ep.ip_cidr) == text || address_of(ep.ip6_cidr) == text) {
        who = fmt::format("endpoint {} ({})", n, ep.id);
      }
    }
    spdlog::error(
        "pool {}: address {} held by {} lies in space now owned by {} (reclaimed while this host was cut off or "
        "restored from old state): it may be handed out there too; give the endpoint a new address (detach and "
        "attach again)",
        c.pool, text, who, c.new_owner);
  }
}

json Agent::list_ipam() const {
  json pools = json::array();
  for (const auto& name : ipam_->pool_names()) {
    const ipam::PoolSpec* spec = ipam_->spec(name);
    const ipam::BlockMap* map = ipam_->map(name);
    json hosts = json::array();
    for (const auto& [owner, blocks] : map->owner_counts()) {
      hosts.push_back({{"host", owner}, {"blocks", blocks}, {"addresses", std::uint64_t{blocks} * spec->block_size}});
    }
    json owned = json::array();
    for (const auto& r : ipam_->owned_ranges(name)) {
      owned.push_back(fmt::format("{}-{}", spec->format(r.first), spec->format(r.last)));
    }
    pools.push_back({{"pool", name},
                     {"network", name.substr(0, name.find('@'))},
                     {"subnet", spec->cidr()},
                     {"genesis", spec->genesis},
                     {"block_size", spec->block_size},
                     {"hosts", hosts},
                     {"owned", owned},
                     {"allocated", ipam_->allocations(name).size()},
                     {"free", ipam_->free_addresses(name)}});
  }
  json conflicts = json::array();
  for (const auto& c : ipam_->conflicts()) {
    const ipam::PoolSpec* spec = ipam_->spec(c.pool);
    conflicts.push_back({{"pool", c.pool},
                         {"network", c.pool.substr(0, c.pool.find('@'))},
                         {"address", spec != nullptr ? spec->format(c.address) : std::to_string(c.address)},
                         {"handle", c.handle},
                         {"new_owner", c.new_owner}});
  }
  return json{{"ok", true},     {"node", config_.node_name}, {"fenced", ipam_->fenced()}, {"pending", ipam_->pending()},
              {"pools", pools}, {"conflicts", conflicts}};
}

}  // namespace ferry::agent
