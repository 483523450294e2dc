// Quorum: what this host knows of the cluster's liveness, for the two
// decisions that must be made on one side of a partition only. Fencing: a
// host that has not seen a majority alive for Config::fence_after stops
// allocating and donating. Reclaim: an owner of space that a majority has
// seen dead for Config::reclaim_after is doomed (its blocks go to heirs,
// reclaim.h). The cluster's size counts members not known to have left, or
// the owners of space in the maps if more: a host restarted into isolation
// knows from its maps that it is not alone.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <unordered_map>

#include "control/gossip/clock.h"
#include "control/gossip/member.h"
#include "control/ipam/config.h"

namespace ferry::gossip {
class Node;
}  // namespace ferry::gossip

namespace ferry::ipam {

class Quorum {
 public:
  // Reads membership from `node` (this host's) and time from `clock`.
  Quorum(const Config& config, const gossip::Node& node, const gossip::Clock& clock);

  // This host, or a member alive or suspect.
  [[nodiscard]] bool alive(const std::string& name) const;
  [[nodiscard]] bool has_left(const std::string& name) const { return left_.contains(name); }
  [[nodiscard]] std::size_t cluster_size() const;
  // More than half of `voters` alive (this host included).
  [[nodiscard]] bool has_quorum(std::size_t voters) const;
  // No majority seen for fence_after (and still none).
  [[nodiscard]] bool fenced() const;
  // Seconds since a majority was last seen (for messages).
  [[nodiscard]] double seconds_without_quorum() const;

  // Membership events (gossip::Delegate): a member (back) up, or gone.
  void on_join(const std::string& name);
  void on_leave(const gossip::MemberInfo& info);

  // The periodic check, given every owner of space in every pool: refreshes
  // the cluster size, when the majority was lost and which owners are dead
  // since when. Returns the owners to reclaim now (dead past reclaim_after,
  // with a majority of the larger of the cluster then and now alive); none
  // while fenced or with reclaim disabled.
  std::set<std::string> update(gossip::TimePoint now, const std::set<std::string>& owners);

 private:
  struct DeadOwner {
    gossip::TimePoint since;
    std::size_t voters;  // cluster size (without left members) when first seen dead
  };

  const Config& config_;
  const gossip::Node& node_;
  const gossip::Clock& clock_;
  std::string self_;
  std::unordered_map<std::string, DeadOwner> dead_;
  std::set<std::string> left_;
  std::size_t owners_ = 0;  // distinct owners of space, not known to have left (refreshed by update())
  gossip::TimePoint no_quorum_since_ = gossip::kNever;
};

}  // namespace ferry::ipam
