// Node: SWIM failure detection. Each protocol period probes one member
// (ProbeOrder) with a Ping; no Ack within the (health-scaled) probe timeout
// asks indirect_checks helpers to ping it too (IndirectPing), and they Nack
// if they hear nothing either (Lifeguard). A probe that ends with no ack at
// all raises a suspicion; missed nacks count against this node's own health.
#include "control/gossip/node.h"

#include <spdlog/spdlog.h>

#include "control/gossip/gossip.pb.h"
#include "control/gossip/wire_format.h"

namespace ferry::gossip {

using wire::append_field;
using wire::append_message;

void Node::probe() {
  finish_probe();
  if (leaving_) return;
  const NameId target = probe_order_.next(members_, rng_);
  if (target == kNoName) return;
  const Member* m = members_.find(target);
  const uint32_t seq = next_seq_++;
  probe_ = Probe{seq, target, false, 0, 0};
  ack_waits_[seq] = AckWait{WaitKind::kProbe, target, {}, 0, false};
  ++counters_[Counter::probes];
  v1::Ping ping;
  ping.set_seq(seq);
  ping.set_target(names_->name(target));
  std::string framed;
  append_message(framed, wire::kPing, ping);
  send_packet(m->address, std::move(framed));
  schedule(clock_.now() + awareness_.scale(config_.probe_timeout), TimerKind::kProbeTimeout, seq);
}

void Node::probe_timeout(uint32_t seq) {
  if (probe_.seq != seq || probe_.acked) return;
  const Member* target = members_.find(probe_.target);
  if (target == nullptr) return;
  select_random(config_.indirect_checks, probe_.target, false, select_scratch_);
  v1::IndirectPing req;
  req.set_seq(seq);
  req.set_target(names_->name(probe_.target));
  req.set_target_ip(target->address.ip);
  req.set_target_port(target->address.port);
  req.set_nack(true);
  std::string body = req.SerializeAsString();
  for (uint32_t slot : select_scratch_) {
    std::string framed;
    append_field(framed, wire::kIndirectPing, body);
    send_packet(members_[slot].address, std::move(framed));
    ++counters_[Counter::indirect_sent];
  }
  probe_.expected_nacks = static_cast<uint32_t>(select_scratch_.size());
}

void Node::finish_probe() {
  if (probe_.seq == 0) return;
  ack_waits_.erase(probe_.seq);
  const Probe p = probe_;
  probe_ = Probe{};
  if (p.acked) return;
  ++counters_[Counter::probe_failed];
  // Lifeguard: helpers that did not even nack point at our own network.
  int delta = 1;
  if (p.expected_nacks > 0) delta = p.nacks < p.expected_nacks ? static_cast<int>(p.expected_nacks - p.nacks) : 0;
  awareness_.apply(delta);
  Member* m = members_.find(p.target);
  if (m == nullptr || m->state != MemberState::kAlive) return;
  ++counters_[Counter::suspect_raised];
  log().info(
      "gossip: member {} suspected by this node: no ack to a probe, directly or through {} other members "
      "(incarnation {})",
      describe(*m), p.expected_nacks, m->incarnation);
  set_state(*m, MemberState::kSuspect);
  start_suspicion(*m, self_);
  broadcast_suspect(*m, names_->name(self_));
}

void Node::serve_ping(const Address& from, uint32_t seq, const std::string& target) {
  if (target != names_->name(self_)) {
    ++counters_[Counter::ping_wrong_target];
    return;
  }
  ++counters_[Counter::ping_rx];
  v1::Ack ack;
  ack.set_seq(seq);
  std::string framed;
  append_message(framed, wire::kAck, ack);
  send_packet(from, std::move(framed));
}

void Node::relay_indirect_ping(const Address& from, const std::string& target, const Address& target_address,
                               uint32_t requester_seq, bool want_nack) {
  ++counters_[Counter::indirect_relayed];
  const uint32_t seq = next_seq_++;
  ack_waits_[seq] = AckWait{WaitKind::kRelay, names_->find(target), from, requester_seq, want_nack};
  v1::Ping ping;
  ping.set_seq(seq);
  ping.set_target(target);
  std::string framed;
  append_message(framed, wire::kPing, ping);
  send_packet(target_address, std::move(framed));
  schedule(clock_.now() + awareness_.scale(config_.probe_timeout) * 4 / 5, TimerKind::kRelayTimeout, seq);
}

void Node::relay_timeout(uint32_t seq) {
  const auto it = ack_waits_.find(seq);
  if (it == ack_waits_.end() || it->second.kind != WaitKind::kRelay) return;
  if (it->second.want_nack) {
    v1::Nack nack;
    nack.set_seq(it->second.requester_seq);
    std::string framed;
    append_message(framed, wire::kNack, nack);
    const Address to = it->second.requester;
    ack_waits_.erase(it);
    ++counters_[Counter::nack_sent];
    send_packet(to, std::move(framed));
    return;
  }
  ack_waits_.erase(it);
}

void Node::on_ack(uint32_t seq) {
  const auto it = ack_waits_.find(seq);
  if (it == ack_waits_.end()) {
    ++counters_[Counter::unexpected_ack];
    return;
  }
  if (it->second.kind == WaitKind::kVerify) {
    verifying_.erase(it->second.target);
    ack_waits_.erase(it);  // alive: the accusation was stale
    return;
  }
  if (it->second.kind == WaitKind::kRelay) {
    v1::Ack ack;
    ack.set_seq(it->second.requester_seq);
    std::string framed;
    append_message(framed, wire::kAck, ack);
    const Address to = it->second.requester;
    ack_waits_.erase(it);
    send_packet(to, std::move(framed));
    return;
  }
  if (probe_.seq == seq && !probe_.acked) {
    probe_.acked = true;
    ++counters_[Counter::probe_acked];
    awareness_.apply(-1);
  }
}

void Node::verify(const Member& m, bool dead, std::string_view peer) {
  if (verifying_.contains(m.name)) return;
  const uint32_t seq = next_seq_++;
  ack_waits_[seq] = AckWait{WaitKind::kVerify, m.name, {}, 0, false, m.incarnation};
  verifying_[m.name] = seq;
  ++counters_[Counter::verify_probes];
  const std::string& name = names_->name(m.name);
  log().debug("gossip: {} holds member {} {} at incarnation {}: checking with a ping", peer, describe(m),
              dead ? "dead" : "suspect", m.incarnation);
  v1::Ping ping;
  ping.set_seq(seq);
  ping.set_target(name);
  std::string framed;
  append_message(framed, wire::kPing, ping);
  // The accusation itself goes to the accused alone: it refutes it, and its
  // new incarnation reaches the peer that still holds the old verdict.
  framed += dead ? wire::framed_accusation<v1::Dead>(wire::kDead, name, m.incarnation, peer)
                 : wire::framed_accusation<v1::Suspect>(wire::kSuspect, name, m.incarnation, peer);
  send_packet(m.address, std::move(framed));
  schedule(clock_.now() + awareness_.scale(config_.probe_interval), TimerKind::kVerifyTimeout, seq);
}

void Node::verify_timeout(uint32_t seq) {
  const auto it = ack_waits_.find(seq);
  if (it == ack_waits_.end() || it->second.kind != WaitKind::kVerify) return;
  const AckWait wait = it->second;
  ack_waits_.erase(it);
  verifying_.erase(wait.target);
  Member* m = members_.find(wait.target);
  if (m == nullptr || m->state != MemberState::kAlive || m->incarnation != wait.incarnation) return;
  ++counters_[Counter::verify_failed];
  ++counters_[Counter::suspect_raised];
  log().info(
      "gossip: member {} suspected by this node: a peer reported it down and it did not answer a ping "
      "(incarnation {})",
      describe(*m), m->incarnation);
  set_state(*m, MemberState::kSuspect);
  start_suspicion(*m, self_);
  broadcast_suspect(*m, names_->name(self_));
}

void Node::on_nack(uint32_t seq) {
  ++counters_[Counter::nack_rx];
  if (probe_.seq == seq && !probe_.acked) {
    ++probe_.nacks;
  } else {
    ++counters_[Counter::unexpected_ack];
  }
}

}  // namespace ferry::gossip
