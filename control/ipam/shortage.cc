#include "control/ipam/shortage.h"

#include <fmt/format.h>

#include <utility>

namespace ferry::ipam {

void Shortage::refuse(const std::string& donor, const std::string& why, bool no_free, const std::string& pointed) {
  refused.insert(donor);
  if (no_free) no_free_block.insert(donor);
  if (!pointed.empty()) hinted.insert(pointed);
  failures.push_back(fmt::format("{}: {}", donor, why));
}

void Shortage::clear() {
  attempts = 0;
  refused.clear();
  no_free_block.clear();
  hinted.clear();
  failures.clear();
  retry_at = gossip::TimePoint{};
  unreachable_ = false;
}

void Shortage::end_round(gossip::TimePoint at) {
  refused.clear();
  attempts = 0;
  retry_at = at;
}

Shortage::Choice Shortage::choose_donor(const std::map<std::string, std::uint32_t>& owner_counts,
                                        const std::string& self, const std::function<bool(const std::string&)>& alive,
                                        std::uint32_t max_attempts, gossip::Rng& rng, std::string& donor) {
  // Weave weighs donors by free space; ownership is what every host knows
  // for sure.
  std::vector<std::pair<std::string, std::uint32_t>> candidates;
  std::uint64_t total = 0;
  bool reachable = false;
  bool others = false;
  for (const auto& [owner, n] : owner_counts) {
    if (owner == self) continue;
    others = true;
    if (!alive(owner)) continue;
    reachable = true;
    if (refused.contains(owner)) continue;
    candidates.emplace_back(owner, n);
    total += n;
  }
  if (!others) return Choice::kFull;
  if (!reachable) {
    unreachable_ = true;
    failures.emplace_back("no other owner of space in the pool is reachable");
    return Choice::kUnreachable;
  }
  if (!hint.empty() && !refused.contains(hint) && alive(hint) && attempts < max_attempts) {
    candidates.assign(1, {hint, 1});
    total = 1;
  }
  hint.clear();
  if (candidates.empty() || attempts >= max_attempts) return Choice::kRoundOver;
  std::uint64_t pick = rng.below(total);
  for (const auto& [owner, n] : candidates) {
    if (pick < n) {
      donor = owner;
      break;
    }
    pick -= n;
  }
  return Choice::kAsk;
}

std::string Shortage::exhausted_message(const PoolSpec& spec) const {
  std::string why = failures.empty() ? "no other host owns space in it" : "";
  constexpr std::size_t kShown = 6;  // the latest answers
  const std::size_t from = failures.size() > kShown ? failures.size() - kShown : 0;
  if (from > 0) why = fmt::format("{} refusals, the latest: ", failures.size());
  for (std::size_t i = from; i < failures.size(); ++i) why += (i == from ? "" : "; ") + failures[i];
  return fmt::format("pool {} ({}): no free address on this host and no host {} ({})", spec.name, spec.cidr(),
                     unreachable_ ? "reachable to donate space" : "gave space", why);
}

bool Shortage::looks_full(const std::map<std::string, std::uint32_t>& owner_counts, const std::string& self) const {
  for (const auto& [owner, n] : owner_counts) {
    if (owner != self && !no_free_block.contains(owner)) return false;
  }
  for (const auto& h : hinted) {
    if (h != self && !no_free_block.contains(h)) return false;
  }
  return true;
}

std::string Shortage::full_message(const PoolSpec& spec) const {
  if (no_free_block.empty()) return fmt::format("no free address in {}", spec.cidr());
  std::string hosts;
  for (const auto& h : no_free_block) hosts += (hosts.empty() ? "" : ", ") + h;
  // With one address per block, no free block is no free address; larger
  // blocks may keep free addresses that only their owner can use.
  if (spec.block_size == 1) {
    return fmt::format("no free address in {} (the other hosts with space in it have none free: {})", spec.cidr(),
                       hosts);
  }
  return fmt::format("no free address in {} for this host (the other hosts with space in it have no free block: {})",
                     spec.cidr(), hosts);
}

}  // namespace ferry::ipam
