#include "control/ipam/quorum.h"

#include <algorithm>
#include <iterator>

#include "control/gossip/node.h"

namespace ferry::ipam {

Quorum::Quorum(const Config& config, const gossip::Node& node, const gossip::Clock& clock)
    : config_(config), node_(node), clock_(clock), self_(node.name()) {}

bool Quorum::alive(const std::string& name) const {
  if (name == self_) return true;
  const auto s = node_.state_of(name);
  return s && (*s == gossip::MemberState::kAlive || *s == gossip::MemberState::kSuspect);
}

std::size_t Quorum::cluster_size() const {
  const std::size_t members = node_.num_members();
  // Owners of space count even when membership does not list them (yet): a
  // host restarted from its state into isolation knows, from its maps, that
  // it is not alone, and fences like any cut-off host.
  return std::max({members > left_.size() ? members - left_.size() : std::size_t{1}, owners_, std::size_t{1}});
}

bool Quorum::has_quorum(std::size_t voters) const { return 2 * node_.num_alive() > voters; }

bool Quorum::fenced() const {
  return config_.fence_after.count() > 0 && no_quorum_since_ != gossip::kNever &&
         clock_.now() - no_quorum_since_ >= config_.fence_after && !has_quorum(cluster_size());
}

double Quorum::seconds_without_quorum() const {
  return std::chrono::duration<double>(clock_.now() - no_quorum_since_).count();
}

void Quorum::on_join(const std::string& name) {
  left_.erase(name);
  dead_.erase(name);
}

void Quorum::on_leave(const gossip::MemberInfo& info) {
  if (info.state == gossip::MemberState::kLeft) left_.insert(info.name);
}

std::set<std::string> Quorum::update(gossip::TimePoint now, const std::set<std::string>& owners) {
  // Forget "left" marks of members no longer listed at all.
  for (auto it = left_.begin(); it != left_.end();) {
    it = node_.state_of(*it) ? std::next(it) : left_.erase(it);
  }
  owners_ = 0;
  for (const std::string& owner : owners) owners_ += (owner == self_ || !left_.contains(owner)) ? 1 : 0;
  if (has_quorum(cluster_size())) {
    no_quorum_since_ = gossip::kNever;
  } else if (no_quorum_since_ == gossip::kNever) {
    no_quorum_since_ = now;
  }
  for (auto it = dead_.begin(); it != dead_.end();) {
    it = owners.contains(it->first) ? std::next(it) : dead_.erase(it);
  }
  for (const std::string& owner : owners) {
    if (alive(owner)) {
      dead_.erase(owner);
    } else if (!dead_.contains(owner)) {
      dead_.emplace(owner, DeadOwner{now, cluster_size()});
    }
  }
  std::set<std::string> doomed;
  if (config_.reclaim_after.count() > 0 && !fenced()) {
    for (const auto& [owner, d] : dead_) {
      if (now - d.since >= config_.reclaim_after && has_quorum(std::max(d.voters, cluster_size()))) {
        doomed.insert(owner);
      }
    }
  }
  return doomed;
}

}  // namespace ferry::ipam
