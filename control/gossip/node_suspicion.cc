// Node: the SWIM state machine with Lifeguard's suspicion. News about a
// member (Alive, Suspect, Dead, from datagrams or push-pull) changes its
// state only at an incarnation at least as new as the one known; a suspect
// member gets a Suspicion timer that distinct confirmations shorten, and is
// declared dead when it expires. News of this node's own suspicion or death
// is refuted with a higher incarnation.
#include "control/gossip/node.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace ferry::gossip {

void Node::handle_alive(std::string_view name, uint32_t incarnation, const Address& addr, uint64_t boot_id) {
  NameId id = names_->find(name);
  if (id == self_) {
    if (leaving_) return;
    const Member& me = members_.self();
    // Someone believes in another life of ours (a previous boot or address)
    // at our incarnation or above: jump above it.
    const bool other_life = boot_id != me.boot_id || addr != me.address;
    if ((other_life && incarnation >= me.incarnation) || incarnation > me.incarnation) {
      log().info("gossip: peers know {} of this node at incarnation {}: announcing incarnation {}",
                 other_life ? "an earlier life" : "a newer incarnation", incarnation,
                 std::max(me.incarnation, incarnation) + 1);
      refute(incarnation);
    }
    return;
  }
  Member* m = id == kNoName ? nullptr : members_.find(id);
  if (m == nullptr) {
    if (id == kNoName) id = names_->intern(name);
    Member& added = add_member(id, addr, incarnation, boot_id);
    log().log(quiet_joins_ ? spdlog::level::debug : spdlog::level::info, "gossip: member {} joined (incarnation {})",
              describe(added), incarnation);
    broadcast_alive(added);
    if (delegate_ != nullptr) delegate_->notify_join(info(added));
    return;
  }
  if (incarnation <= m->incarnation) return;
  const MemberState before = m->state;
  const bool was_down = !m->up();
  const bool restarted = boot_id != m->boot_id;
  const Address old_address = m->address;
  m->incarnation = incarnation;
  m->address = addr;
  m->boot_id = boot_id;
  suspicions_.erase(id);
  if (was_down) {
    log().info("gossip: member {} is alive again (was {}, incarnation {}{})", describe(*m), to_string(before),
               incarnation, restarted ? ", restarted" : "");
  } else if (before == MemberState::kSuspect) {
    log().info("gossip: member {} refuted the suspicion (incarnation {}{})", describe(*m), incarnation,
               restarted ? ", restarted" : "");
  } else if (restarted || old_address != addr) {
    log().info("gossip: member {} {} (incarnation {})", describe(*m),
               restarted ? "restarted" : fmt::format("moved from {}", old_address.to_string()), incarnation);
  } else {
    log().debug("gossip: member {} at incarnation {}", describe(*m), incarnation);
  }
  set_state(*m, MemberState::kAlive);  // after the line: a partition's end is logged after its last member
  if (was_down) probe_order_.add(id, rng_);
  broadcast_alive(*m);
  if (delegate_ != nullptr) {
    if (was_down) {
      delegate_->notify_join(info(*m));
    } else {
      delegate_->notify_update(info(*m));
    }
  }
}

void Node::handle_suspect(std::string_view name, uint32_t incarnation, std::string_view from) {
  const NameId id = names_->find(name);
  if (id == kNoName) return;
  if (id == self_) {
    if (leaving_ || incarnation < members_.self().incarnation) return;
    awareness_.apply(1);  // Lifeguard: being suspected hints at our own slowness
    log().info("gossip: this node is suspected by {} at incarnation {}: refuting", from, incarnation);
    refute(incarnation);
    return;
  }
  Member* m = members_.find(id);
  if (m == nullptr || incarnation < m->incarnation) return;
  const NameId from_id = names_->find(from);
  if (m->state == MemberState::kSuspect) {
    auto it = suspicions_.find(id);
    if (it == suspicions_.end() || from_id == kNoName) return;
    if (!it->second.confirm(from_id, clock_.now())) return;
    log().debug("gossip: suspicion of member {} confirmed by {} ({} confirmations)", describe(*m), from,
                it->second.confirmations());
    schedule(it->second.deadline(), TimerKind::kSuspicion, id);
    broadcast_suspect(*m, from);  // new confirmation: pass it on
    return;
  }
  if (m->state == MemberState::kLeft && incarnation <= m->incarnation) {
    // The suspector missed the leave: tell it (and everyone) again.
    broadcast_dead(*m, name);
    return;
  }
  if (m->state != MemberState::kAlive) return;
  m->incarnation = incarnation;
  log().info("gossip: member {} suspected by {} (incarnation {})", describe(*m), from, incarnation);
  set_state(*m, MemberState::kSuspect);
  start_suspicion(*m, from_id);
  broadcast_suspect(*m, from);
}

void Node::handle_dead(std::string_view name, uint32_t incarnation, std::string_view from) {
  const NameId id = names_->find(name);
  if (id == kNoName) return;
  if (id == self_) {
    // A leave echo of our own, or news of a previous life: refute the latter.
    if (leaving_ || incarnation < members_.self().incarnation) return;
    log().info("gossip: this node was declared dead by {} at incarnation {}: refuting", from, incarnation);
    refute(incarnation);
    return;
  }
  Member* m = members_.find(id);
  if (m == nullptr || incarnation < m->incarnation) return;
  if (m->state == MemberState::kDead || m->state == MemberState::kLeft) return;
  const MemberState before = m->state;
  m->incarnation = incarnation;
  suspicions_.erase(id);
  if (from == name) {
    log().info("gossip: member {} left the cluster (incarnation {})", describe(*m), incarnation);
  } else {
    log().info("gossip: member {} declared dead by {} (was {}, incarnation {})", describe(*m), from, to_string(before),
               incarnation);
  }
  set_state(*m, from == name ? MemberState::kLeft : MemberState::kDead);
  broadcast_dead(*m, from);
  if (delegate_ != nullptr) delegate_->notify_leave(info(*m));
}

// Push-pull carries a peer's whole view, verdicts included, however old: a
// member the peer declared dead while a partition cut it off is still "dead"
// there after the partition healed, while here it answered all along.
// Suspecting it here would spread that stale verdict (every healthy member
// on this side briefly suspect at each heal). So a member alive here at the
// accused incarnation is checked first: a ping, with the accusation handed to
// it alone so that it refutes it (its new incarnation is what convinces the
// peer). Only if it does not answer is it suspected. An accusation at a newer
// incarnation than the one known here is news, and handled as a Suspect.
void Node::merge_accusation(std::string_view name, uint32_t incarnation, bool dead, std::string_view peer) {
  const NameId id = names_->find(name);
  if (id == kNoName) return;
  if (id != self_) {
    const Member* m = members_.find(id);
    if (m == nullptr || incarnation < m->incarnation) return;
    if (m->state == MemberState::kAlive && incarnation == m->incarnation) {
      if (!leaving_) verify(*m, dead, peer);
      return;
    }
  }
  handle_suspect(name, incarnation, id == self_ ? peer : names_->name(self_));
}

void Node::refute(uint32_t seen_incarnation) {
  Member& me = members_.self();
  me.incarnation = std::max(me.incarnation, seen_incarnation) + 1;
  ++counters_[Counter::refutes];
  broadcast_alive(me);
}

void Node::start_suspicion(Member& m, NameId from) {
  const Suspicion& s =
      suspicions_.insert_or_assign(m.name, Suspicion(config_, members_.num_up(), from, clock_.now())).first->second;
  schedule(s.deadline(), TimerKind::kSuspicion, m.name);
}

void Node::suspicion_expired(NameId id) {
  const auto it = suspicions_.find(id);
  if (it != suspicions_.end() && it->second.deadline() <= clock_.now()) declare_dead(id);
}

void Node::declare_dead(NameId id) {
  const auto it = suspicions_.find(id);
  const Duration suspected = it != suspicions_.end() ? clock_.now() - it->second.start() : Duration{};
  const uint32_t confirmations = it != suspicions_.end() ? it->second.confirmations() : 0;
  suspicions_.erase(id);
  Member* m = members_.find(id);
  if (m == nullptr || m->state != MemberState::kSuspect) return;
  ++counters_[Counter::dead_declared];
  log().info(
      "gossip: member {} confirmed dead: suspect for {} ms with no refutation ({} confirmations, incarnation {})",
      describe(*m), std::chrono::duration_cast<std::chrono::milliseconds>(suspected).count(), confirmations,
      m->incarnation);
  set_state(*m, MemberState::kDead);
  broadcast_dead(*m, names_->name(self_));
  if (delegate_ != nullptr) delegate_->notify_leave(info(*m));
}

}  // namespace ferry::gossip
