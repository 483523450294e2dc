// EndpointService: two-step endpoints (Docker's) whose sandbox went away
// without a Leave.
//
// A joined endpoint that is in no container any more lost its sandbox
// without a Leave: Docker removed the container while this agent was down
// (its calls then fail and Docker goes on without them; it moves the
// interface back into the host's namespace, or the namespace goes and the
// pair with it), or the host restarted. Once that has lasted long enough, no
// call will ever use the endpoint again: it is withdrawn (as Leave would),
// forgotten (as DeleteEndpoint would) and its addresses are released (as
// ReleaseAddress would). A dockerd that cleans up the same sandbox later
// gets "unknown endpoint" and "not allocated" answers, which it logs and
// ignores.
//
// Long enough: Config::docker_orphan_timeout when both sides of the pair are
// gone (only the sandbox's end can take them) or when this agent has seen
// the endpoint in its container before. An endpoint never seen in one since
// the agent started may be between Join and Docker moving the interface
// into the new container, which takes seconds on a busy host: it waits
// Config::docker_unseen_orphan_grace at least.
#include <net/if.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "control/agent/endpoint_service.h"

namespace ferry::agent {

void EndpointService::reap_vanished_endpoints(gossip::TimePoint now) {
  if (config_.docker_orphan_timeout.count() == 0) return;
  std::vector<std::string> gone;
  std::map<std::string, gossip::TimePoint> still_out;
  std::set<std::string> seen;
  for (const auto& [name, ep] : state().endpoints) {
    if (!ep.docker || !ep.joined || ep.host_ifname.empty()) continue;
    const bool host_side = ::if_nametoindex(ep.host_ifname.c_str()) != 0;
    const bool container_side_here = ::if_nametoindex(ep.container_ifname.c_str()) != 0;
    if (host_side && !container_side_here) {  // in its container
      seen.insert(name);
      continue;
    }
    if (seen_in_container_.contains(name)) seen.insert(name);
    auto since = orphans_.find(name);
    const gossip::TimePoint first = since == orphans_.end() ? now : since->second;
    const gossip::Duration grace =
        !host_side || seen.contains(name)
            ? gossip::Duration(config_.docker_orphan_timeout)
            : gossip::Duration(std::max(config_.docker_orphan_timeout, config_.docker_unseen_orphan_grace));
    if (now - first >= grace) {
      gone.push_back(name);
    } else {
      still_out[name] = first;
    }
  }
  orphans_ = std::move(still_out);
  seen_in_container_ = std::move(seen);
  for (const std::string& name : gone) forget_vanished(name);
}

void EndpointService::forget_vanished(const std::string& name) {
  auto found = state().endpoints.find(name);
  if (found == state().endpoints.end()) return;
  const LocalEndpoint ep = found->second;
  if (auto r = unwire(ep); !r) {
    spdlog::warn("endpoint {}: in no container, but withdrawing it failed: {}", name, r.error().message);
    return;
  }
  StateTransaction tx(store_);
  tx.erase_endpoint(name);
  std::vector<std::pair<IpPrefix, IpAddress>> freed;  // (pool subnet, address)
  if (auto d = state().docker_networks.find(ep.docker_network); d != state().docker_networks.end()) {
    const DockerNetwork binding = d->second;
    for (const auto& [pool_id, address] :
         {std::pair{binding.pool_id, std::optional<IpPrefix>(ep.ip)}, std::pair{binding.pool6_id, ep.ip6}}) {
      if (!address || pool_id.empty() || state().pools.count(pool_id) == 0) continue;
      IpamPool& pool = tx.pool(pool_id);
      pool.unclaimed.erase(address->address);
      if (pool.addresses.erase(address->address) != 0) freed.emplace_back(pool.subnet, address->address);
    }
  }
  if (auto r = tx.persist(); !r) {
    spdlog::warn("endpoint {}: forgetting it: {}", name, r.error().message);
    return;
  }
  tx.commit();
  for (const auto& [subnet, address] : freed) release_everywhere(subnet, address);
  spdlog::warn(
      "endpoint {} ({}): in no container for {} ms (Docker removed its sandbox without a Leave): withdrawn, "
      "forgotten, {} address(es) released",
      name, ep.id, config_.docker_orphan_timeout.count(), freed.size());
  changed_();
}

}  // namespace ferry::agent
