// Allocator: the periodic check. Liveness and fencing come from the Quorum;
// an owner doomed there loses its blocks to their heirs (reclaim.h), and
// this host writes the records of the blocks it inherits. It also lets
// reclaimed blocks settle into use and times out waiting allocations.
#include "control/ipam/allocator.h"

#include <set>

#include <spdlog/spdlog.h>

#include "control/ipam/reclaim.h"

namespace ferry::ipam {

void Allocator::reclaim(Pool& p, const std::set<std::string>& doomed) {
  const std::vector<std::uint32_t> taken = inherited_blocks(p.map, doomed, self_);
  if (taken.empty()) return;
  for (const std::uint32_t b : taken) write(p, b, Record{p.map.at(b).version + 1, self_, true});
  count(Counter::blocks_reclaimed, taken.size());
  persist();
  broadcast(p, runs_of(p, taken), queue_);
}

void Allocator::check(gossip::TimePoint now) {
  std::set<std::string> owners;
  for (const auto& [name, p] : pools_) {
    for (const auto& [owner, blocks] : p.map.owner_counts()) owners.insert(owner);
  }
  std::set<std::string> doomed = quorum_.update(now, owners);
  if (hold_reclaim_) {
    for (auto it = doomed.begin(); it != doomed.end();) {
      if (hold_reclaim_(*it)) {
        if (reclaim_held_.insert(*it).second) {
          spdlog::info(
              "IPAM: {} is dead past the reclaim period, but its data plane answers: its addresses stay "
              "its own",
              *it);
        }
        it = doomed.erase(it);
      } else {
        if (reclaim_held_.erase(*it) > 0) spdlog::info("IPAM: {}'s data plane stopped answering: reclaiming", *it);
        ++it;
      }
    }
  }
  std::vector<Completion> done;
  for (auto& [name, p] : pools_) {
    if (!doomed.empty()) reclaim(p, doomed);
    bool settled = false;
    for (auto it = p.settling.begin(); it != p.settling.end();) {
      if (it->second <= now) {
        it = p.settling.erase(it);
        settled = true;
      } else {
        ++it;
      }
    }
    while (!p.pending.empty() && p.pending.front().deadline <= now) {
      const Shortage& s = p.shortage;
      fail_front(p,
                 s.looks_full(p.map.owner_counts(), self_)
                     ? make_error("{}", s.full_message(p.spec))
                     : make_error("pool {}: no address within {} ms ({})", p.spec.name,
                                  config_.allocate_timeout.count(), s.exhausted_message(p.spec)),
                 done);
    }
    if (settled || (!p.pending.empty() && p.shortage.request == 0 && p.shortage.retry_at <= now)) {
      serve_pending(p, done);
    }
  }
  run(done);
}

}  // namespace ferry::ipam
