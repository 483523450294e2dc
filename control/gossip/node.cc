// Node: construction, the member list, lifecycle and timers. The protocol's
// other concerns live beside it: node_probe.cc (direct and indirect probes,
// acks), node_suspicion.cc (alive/suspect/dead, suspicion timeouts,
// refutation), node_broadcast.cc (broadcasts, piggybacking, gossip rounds),
// node_push_pull.cc (join, push-pull, user streams), node_dispatch.cc
// (inbound datagrams).
#include "control/gossip/node.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "control/gossip/timing.h"

namespace ferry::gossip {

namespace {

Duration reap_interval(const Config& config) {
  return std::max<Duration>(std::chrono::seconds(1), Duration(config.dead_reclaim_time) / 8);
}

}  // namespace

Node::Node(Config config, std::string_view name, Clock& clock, Transport& transport, uint64_t seed, Delegate* delegate,
           std::shared_ptr<NameTable> names, uint64_t boot_id)
    : config_(config),
      clock_(clock),
      transport_(transport),
      rng_(seed),
      delegate_(delegate),
      names_(names ? std::move(names) : std::make_shared<NameTable>()),
      self_(names_->intern(name)),
      members_(self_, transport_.local_address(), boot_id != 0 ? boot_id : (rng_.next() | 1), clock_.now()),
      awareness_(config_.awareness_max_multiplier) {}

Node::~Node() = default;

// ---------------------------------------------------------------- members

Node::Member& Node::add_member(NameId id, const Address& addr, uint32_t incarnation, uint64_t boot_id) {
  Member& m = members_.add(id, addr, incarnation, boot_id, clock_.now(), names_->size());
  probe_order_.add(id, rng_);
  note_change(id, std::nullopt, MemberState::kAlive);
  return m;
}

void Node::remove_member(NameId id) {
  const Member* m = members_.find(id);
  if (m == nullptr) return;
  const MemberState before = m->state;
  if (!members_.remove(id)) return;
  suspicions_.erase(id);
  note_change(id, before, std::nullopt);
}

void Node::set_state(Member& m, MemberState s) {
  const MemberState before = m.state;
  members_.set_state(m, s, clock_.now());
  if (before != s && m.name != self_) note_change(m.name, before, s);
}

MemberInfo Node::info(const Member& m) const {
  return MemberInfo{names_->name(m.name), m.address, m.incarnation, m.state, m.boot_id, m.state_change};
}

std::vector<MemberInfo> Node::members() const {
  std::vector<MemberInfo> out;
  out.reserve(members_.size());
  for (const auto& m : members_) out.push_back(info(m));
  return out;
}

std::optional<MemberInfo> Node::member(std::string_view name) const {
  const Member* m = members_.find(names_->find(name));
  if (m == nullptr) return std::nullopt;
  return info(*m);
}

std::optional<MemberState> Node::state_of(std::string_view name) const {
  const Member* m = members_.find(names_->find(name));
  if (m == nullptr) return std::nullopt;
  return m->state;
}

void Node::insert_member_quietly(std::string_view name, const Address& address, uint32_t incarnation,
                                 uint64_t boot_id) {
  const NameId id = names_->intern(name);
  if (id == self_) return;
  if (Member* m = members_.find(id)) {
    m->incarnation = incarnation;
    m->address = address;
    m->boot_id = boot_id;
    suspicions_.erase(id);
    set_state(*m, MemberState::kAlive);
    return;
  }
  add_member(id, address, incarnation, boot_id);
  joined_ = true;
}

void Node::reserve(size_t members) {
  members_.reserve(members, names_->size());
  probe_order_.reserve(members);
}

uint32_t Node::retransmit_limit() const { return gossip::retransmit_limit(config_.retransmit_mult, members_.num_up()); }

void Node::reap() {
  const TimePoint now = clock_.now();
  const Duration keep = config_.dead_reclaim_time;
  for (size_t i = members_.size(); i-- > 1;) {
    const Member& m = members_[i];
    if ((m.state == MemberState::kDead || m.state == MemberState::kLeft) && now - m.state_change >= keep) {
      log().info("gossip: member {} forgotten ({} for {} min)", describe(m), to_string(m.state),
                 std::chrono::duration_cast<std::chrono::minutes>(now - m.state_change).count());
      remove_member(m.name);
      ++counters_[Counter::reaped];
    }
  }
}

// ------------------------------------------------------- lifecycle, timers

void Node::start() {
  if (started_) return;
  started_ = true;
  const TimePoint now = clock_.now();
  members_.self().address = transport_.local_address();
  // Random phases keep a cluster started at one instant from probing in step.
  auto jitter = [&](milliseconds period) {
    return Duration(static_cast<int64_t>(rng_.below(static_cast<uint64_t>(Duration(period).count()) + 1)));
  };
  schedule(now + jitter(config_.probe_interval), TimerKind::kProbe);
  schedule(now + jitter(config_.gossip_interval), TimerKind::kGossip);
  if (config_.push_pull_interval.count() > 0) {
    schedule(now + Duration(config_.push_pull_interval) + jitter(config_.push_pull_interval), TimerKind::kPushPull);
  }
  if (config_.reconnect_interval.count() > 0) {
    schedule(now + Duration(config_.reconnect_interval) + jitter(config_.reconnect_interval), TimerKind::kReconnect);
  }
  schedule(now + reap_interval(config_), TimerKind::kReap);
}

void Node::leave() {
  if (leaving_) return;
  leaving_ = true;
  log().info("gossip: leaving the cluster (incarnation {})", members_.self().incarnation);
  Member& me = members_.self();
  set_state(me, MemberState::kLeft);
  broadcast_dead(me, names_->name(self_));
}

bool Node::leave_drained() const { return leaving_ && broadcasts_.empty(); }

void Node::schedule(TimePoint when, TimerKind kind, uint32_t arg) { timers_.push(Timer{when, kind, arg}); }

TimePoint Node::next_deadline() const {
  TimePoint t = timers_.empty() ? kNever : timers_.top().when;
  if (delegate_ != nullptr) t = std::min(t, delegate_->next_deadline());
  return t;
}

void Node::tick() {
  const TimePoint now = clock_.now();
  flush_log(now);
  while (!timers_.empty() && timers_.top().when <= now) {
    const Timer t = timers_.top();
    timers_.pop();
    on_timer(t);
  }
  if (delegate_ != nullptr && delegate_->next_deadline() <= now) delegate_->tick(now);
}

void Node::on_timer(const Timer& t) {
  const TimePoint now = clock_.now();
  switch (t.kind) {
    case TimerKind::kProbe:
      // A probe timer that fires a probe timeout late means this process
      // was starved (CPU, pauses): its own acks are late too, so it gets
      // less sure of its verdicts (Lifeguard's local health).
      if (now - t.when > Duration(config_.probe_timeout)) awareness_.apply(1);
      schedule(now + awareness_.scale(config_.probe_interval), TimerKind::kProbe);
      probe();
      break;
    case TimerKind::kProbeTimeout:
      probe_timeout(t.arg);
      break;
    case TimerKind::kRelayTimeout:
      relay_timeout(t.arg);
      break;
    case TimerKind::kVerifyTimeout:
      verify_timeout(t.arg);
      break;
    case TimerKind::kGossip:
      schedule(now + Duration(config_.gossip_interval), TimerKind::kGossip);
      gossip();
      break;
    case TimerKind::kPushPull:
      on_push_pull_timer(now);
      break;
    case TimerKind::kReconnect: {
      schedule(now + Duration(config_.reconnect_interval), TimerKind::kReconnect);
      if (leaving_) break;
      if (const Member* m = random_dead()) push_pull_with(m->address, StreamKind::kPushPull);
      break;
    }
    case TimerKind::kJoin:
      try_join();
      break;
    case TimerKind::kReap:
      schedule(now + reap_interval(config_), TimerKind::kReap);
      reap();
      break;
    case TimerKind::kSuspicion:
      suspicion_expired(t.arg);
      break;
  }
}

}  // namespace ferry::gossip
