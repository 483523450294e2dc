// Agent: addresses through the distributed IPAM (control/ipam, docs/ipam.md).
// Each active cluster network's IPv4 subnet is a pool named after the
// network, whose genesis owner is the network's creator (the same on every
// host). The allocator's snapshot lives in <state_dir>/ipam.state, written
// before any address leaves the agent; state.json is written after it, so a
// crash between the two leaves at worst an allocation nobody uses, which
// release_orphans() frees on the next start.
#include <spdlog/spdlog.h>

#include "control/agent/agent.h"
#include "control/agent/state_file.h"

namespace ferry::agent {

using nlohmann::json;

namespace {

// The pool's subnet as the network record writes it ("10.10.0.0/24").
bool same_subnet(const ipam::PoolSpec& spec, const dp_api::Ipv4Prefix& subnet) {
  const std::uint32_t mask = subnet.length == 0 ? 0 : ~(0xffffffffU >> subnet.length);
  return spec.prefix_len == subnet.length && spec.subnet == (subnet.addr.value & mask);
}

}  // namespace

Result<void> Agent::save_ipam(const std::string& snapshot) {
  return write_file_atomic(config_.state_dir + "/ipam.state", snapshot);
}

void Agent::ensure_pools(const NetworkView& view) {
  for (const auto& e : view.active) {
    if (ipam_->has_pool(e.record.name)) continue;
    const dp_api::Ipv4Prefix subnet = e.record.prefix();
    auto r = ipam_->ensure_pool(e.record.name, subnet.addr.value, subnet.length, e.owner);
    if (!r) {
      spdlog::warn("network {}: address pool refused: {}", e.record.name, r.error().message);
      continue;
    }
    spdlog::info("network {}: address pool {} ({} blocks of {}), genesis owner {}", e.record.name, r->cidr(),
                 r->num_blocks(), r->block_size, r->genesis);
  }
}

void Agent::allocate_address(const std::string& network, const std::string& handle,
                             std::optional<dp_api::Ipv4> requested, std::function<void(Result<dp_api::Ipv4>)> done) {
  const NetworkView view = network_view();
  const NetworkEntry* net = view.find(network);
  if (net == nullptr) return done(make_error("no active network {}", network));
  ensure_pools(view);
  const ipam::PoolSpec* spec = ipam_->spec(network);
  if (spec == nullptr) return done(make_error("network {} has no address pool (see the agent's log)", network));
  const dp_api::Ipv4Prefix subnet = net->record.prefix();
  if (!same_subnet(*spec, subnet)) {
    return done(
        make_error("network {} is now {} but its address pool is still {} (a removed network's name was "
                   "reused with another subnet: use another name)",
                   network, net->record.subnet, spec->cidr()));
  }
  std::optional<ipam::Addr> want;
  if (requested) {
    if (!subnet.contains(*requested)) {
      return done(
          make_error("address {} is outside the subnet {}", dp_api::format_ipv4(*requested), net->record.subnet));
    }
    // Endpoints gossiped by hosts that predate a restore, or set up by hand:
    // never hand out an address another endpoint shows.
    if (used_addresses(subnet).count(requested->value) != 0) {
      return done(make_error("address {} is already in use", dp_api::format_ipv4(*requested)));
    }
    want = requested->value;
  }
  ipam_->allocate(network, handle, want, [done = std::move(done)](Result<ipam::Addr> ip) {
    if (!ip) return done(ip.error());
    done(dp_api::Ipv4{*ip});
  });
}

void Agent::release_address(const std::string& network, dp_api::Ipv4 ip) {
  if (!ipam_->has_pool(network)) return;
  if (auto r = ipam_->release(network, ip.value); !r) {
    spdlog::warn("network {}: releasing {}: {}", network, dp_api::format_ipv4(ip), r.error().message);
  }
}

void Agent::release_orphans() {
  for (const auto& pool : ipam_->pool_names()) {
    const ipam::PoolSpec* spec = ipam_->spec(pool);
    std::set<ipam::Addr> used;
    for (const auto& [n, ep] : state_.endpoints) {
      auto p = dp_api::parse_ipv4_prefix(ep.ip_cidr);
      if (p && ep.network == pool) used.insert(p->addr.value);
    }
    for (const auto& [id, dp] : state_.pools) {
      if (dp.subnet != spec->cidr()) continue;
      for (const auto& a : dp.addresses) {
        if (auto ip = dp_api::parse_ipv4(a)) used.insert(ip->value);
      }
    }
    for (const auto& [ip, handle] : ipam_->allocations(pool)) {
      if (used.count(ip) != 0) continue;
      spdlog::info("network {}: address {} ({}) was allocated but never used (crash before the reply): released", pool,
                   ipam::format_ipv4(ip), handle.empty() ? std::string("Docker") : handle);
      if (auto r = ipam_->release(pool, ip); !r) {
        spdlog::warn("network {}: releasing {}: {}", pool, ipam::format_ipv4(ip), r.error().message);
      }
    }
  }
}

void Agent::check_conflicts() {
  const auto& all = ipam_->conflicts();
  for (; conflicts_seen_ < all.size(); ++conflicts_seen_) {
    const ipam::Conflict& c = all[conflicts_seen_];
    std::string who = "no endpoint";
    for (const auto& [n, ep] : state_.endpoints) {
      auto p = dp_api::parse_ipv4_prefix(ep.ip_cidr);
      if (p && ep.network == c.pool && p->addr.value == c.address) who = fmt::format("endpoint {} ({})", n, ep.id);
    }
    spdlog::error(
        "network {}: address {} held by {} lies in space now owned by {} (reclaimed while this host was cut off or "
        "restored from old state): it may be handed out there too; give the endpoint a new address (detach and "
        "attach again)",
        c.pool, ipam::format_ipv4(c.address), who, c.new_owner);
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
      owned.push_back(fmt::format("{}-{}", ipam::format_ipv4(r.first), ipam::format_ipv4(r.last)));
    }
    pools.push_back({{"network", name},
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
    conflicts.push_back({{"network", c.pool},
                         {"address", ipam::format_ipv4(c.address)},
                         {"handle", c.handle},
                         {"new_owner", c.new_owner}});
  }
  return json{{"ok", true},     {"node", config_.node_name}, {"fenced", ipam_->fenced()}, {"pending", ipam_->pending()},
              {"pools", pools}, {"conflicts", conflicts}};
}

}  // namespace ferry::agent
