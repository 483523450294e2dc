// Allocator: graceful hand-over. A host leaving for good gives every free
// block it owns, in every pool, to the other live hosts in equal contiguous
// shares, saves that, broadcasts it and also sends it to each recipient on
// the reliable channel, so it can wait for the answers before leaving.
#include "control/ipam/allocator.h"

#include <algorithm>

#include "control/gossip/node.h"
#include "control/ipam/ipam.pb.h"

namespace ferry::ipam {

Result<std::uint32_t> Allocator::hand_over() {
  // A fenced host must not give space away: the majority may be reclaiming
  // it (the same rule as for donations).
  if (fenced()) {
    count(Counter::fenced_refusals);
    return make_error(
        "hand-over refused: this host has not seen a majority of the cluster for {:.0f} s (fenced); its space "
        "will be reclaimed by the others after reclaim_after",
        quorum_.seconds_without_quorum());
  }
  std::vector<std::string> live;  // sorted by name (members() order is not)
  for (const auto& m : node_.members()) {
    if (m.name != self_ && !quorum_.has_left(m.name) && quorum_.alive(m.name)) live.push_back(m.name);
  }
  std::sort(live.begin(), live.end());
  std::vector<HandOver> plans;
  std::uint32_t total = 0;
  for (auto& [name, p] : pools_) {
    HandOver plan{&p, {}, {}};
    for (const std::uint32_t b : p.map.blocks_of(self_)) {
      if (!p.allocs.in_use(b) && !p.settling.contains(b)) plan.blocks.push_back(b);
    }
    if (plan.blocks.empty()) continue;
    total += static_cast<std::uint32_t>(plan.blocks.size());
    plans.push_back(std::move(plan));
  }
  if (total == 0) return 0U;
  if (live.empty()) {
    return make_error("hand-over refused: no other live host to give {} free blocks to (is this host cut off?)", total);
  }
  for (HandOver& plan : plans) share_out(plan, live);
  if (!persist()) {
    for (HandOver& plan : plans) {
      for (const auto& [b, r] : plan.before) plan.pool->map.reset(b, r);
    }
    return make_error("hand-over failed: could not save the IPAM state; nothing was given");
  }
  deliver(plans, live);
  count(Counter::hand_overs);
  count(Counter::blocks_handed_over, total);
  return total;
}

void Allocator::share_out(HandOver& plan, const std::vector<std::string>& live) {
  Pool& p = *plan.pool;
  // Prefer hosts that already take part in this pool; each gets one
  // contiguous share, so the map grows by at most one run per recipient.
  std::vector<std::string> to;
  for (const std::string& name : live) {
    if (p.map.count_of(name) > 0) to.push_back(name);
  }
  if (to.empty()) to = live;
  const std::size_t n = plan.blocks.size();
  std::size_t i = 0;
  for (std::size_t k = 0; k < to.size(); ++k) {
    const std::size_t share = n / to.size() + (k < n % to.size() ? 1 : 0);
    for (std::size_t j = 0; j < share; ++j, ++i) {
      const std::uint32_t b = plan.blocks[i];
      plan.before.emplace_back(b, p.map.at(b));
      p.map.reset(b, Record{p.map.at(b).version + 1, to[k], false});
    }
  }
}

void Allocator::deliver(const std::vector<HandOver>& plans, const std::vector<std::string>& live) {
  v1::IpamMessage direct;
  for (const HandOver& plan : plans) {
    const std::vector<Run> runs = runs_of(*plan.pool, plan.blocks);
    broadcast(*plan.pool, runs, queue_);
    add_pool_runs(plan.pool->spec, runs, *direct.mutable_state());
  }
  // Every recipient gets every handed-over record on the reliable channel
  // too (handled like the second half of a sync), so the leaving host can
  // wait for the answers instead of trusting gossip to run long enough.
  const std::string wire = framing_.frame(direct);
  for (const std::string& name : live) {
    if (const auto member = node_.member(name)) handoffs_.insert(node_.user_request(member->address, wire));
  }
}

}  // namespace ferry::ipam
