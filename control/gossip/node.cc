#include "control/gossip/node.h"

#include <algorithm>
#include <utility>

#include <google/protobuf/arena.h>

#include "control/gossip/gossip.pb.h"
#include "control/gossip/timing.h"

namespace ferry::gossip {

namespace {

// Packet field numbers (gossip.proto); broadcasts are stored as encoded
// Packet fields so they can be appended to any datagram as they are.
enum PacketField : uint32_t {
  kFrom = 1,
  kPing = 2,
  kIndirectPing = 3,
  kAck = 4,
  kNack = 5,
  kAlive = 6,
  kSuspect = 7,
  kDead = 8,
  kUser = 9,
};

// Bytes a length-delimited field adds around its payload (tag + length) for
// payloads below 2 MiB: the overhead we quote to the delegate.
constexpr size_t kUserOverhead = 1 + 3;
constexpr size_t kMaxNameSize = 255;

void append_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void append_field(std::string& out, uint32_t field, std::string_view bytes) {
  append_varint(out, (uint64_t{field} << 3) | 2);
  append_varint(out, bytes.size());
  out.append(bytes);
}

template <typename Msg>
void append_message(std::string& out, uint32_t field, const Msg& msg) {
  append_field(out, field, msg.SerializeAsString());
}

// Suspect and Dead carry the same fields: whom, which incarnation, who says so.
template <typename Msg>
std::string framed_accusation(uint32_t field, const std::string& name, uint64_t incarnation, std::string_view from) {
  Msg msg;
  msg.set_name(name);
  msg.set_incarnation(incarnation);
  msg.set_from(std::string(from));
  std::string framed;
  append_message(framed, field, msg);
  return framed;
}

bool valid_name(std::string_view name) { return !name.empty() && name.size() <= kMaxNameSize; }

Address make_address(uint32_t ip, uint32_t port) { return Address{ip, static_cast<uint16_t>(port)}; }

}  // namespace

Node::Node(Config config, std::string_view name, Clock& clock, Transport& transport, uint64_t seed, Delegate* delegate,
           std::shared_ptr<NameTable> names, uint64_t boot_id)
    : config_(config),
      clock_(clock),
      transport_(transport),
      rng_(seed),
      delegate_(delegate),
      names_(names ? std::move(names) : std::make_shared<NameTable>()) {
  self_ = names_->intern(name);
  if (boot_id == 0) boot_id = rng_.next() | 1;
  members_.push_back(Member{self_, 1, transport_.local_address(), MemberState::kAlive, boot_id, clock_.now()});
  if (slot_by_name_.size() <= self_) slot_by_name_.resize(self_ + 1, 0);
  slot_by_name_[self_] = 1;
  num_alive_ = 1;
}

Node::~Node() = default;

// ---------------------------------------------------------------- members

Node::Member* Node::find(NameId id) {
  if (id >= slot_by_name_.size() || slot_by_name_[id] == 0) return nullptr;
  return &members_[slot_by_name_[id] - 1];
}

const Node::Member* Node::find(NameId id) const {
  if (id >= slot_by_name_.size() || slot_by_name_[id] == 0) return nullptr;
  return &members_[slot_by_name_[id] - 1];
}

Node::Member* Node::find(std::string_view name) { return find(names_->find(name)); }

Node::Member& Node::add_member(NameId id, const Address& addr, uint32_t incarnation, uint64_t boot_id) {
  if (slot_by_name_.size() <= id) slot_by_name_.resize(std::max<size_t>(id + 1, names_->size()), 0);
  members_.push_back(Member{id, incarnation, addr, MemberState::kAlive, boot_id, clock_.now()});
  slot_by_name_[id] = static_cast<uint32_t>(members_.size());
  ++num_alive_;
  add_to_probe_order(id);
  return members_.back();
}

void Node::add_to_probe_order(NameId id) {
  // Append, then swap with a random not-yet-probed position: a newcomer is
  // probed within this round, at an unpredictable time, in O(1).
  probe_order_.push_back(id);
  const size_t remaining = probe_order_.size() - std::min(probe_index_, probe_order_.size());
  if (remaining > 1) {
    const size_t pos = probe_index_ + rng_.below(remaining);
    std::swap(probe_order_[pos], probe_order_.back());
  }
}

void Node::remove_member(NameId id) {
  const uint32_t slot = slot_by_name_[id] - 1;
  if (slot == 0) return;  // never remove ourselves
  if (members_[slot].state == MemberState::kAlive || members_[slot].state == MemberState::kSuspect) --num_alive_;
  suspicions_.erase(id);
  if (slot + 1 != members_.size()) {
    members_[slot] = members_.back();
    slot_by_name_[members_[slot].name] = slot + 1;
  }
  members_.pop_back();
  slot_by_name_[id] = 0;
}

void Node::set_state(Member& m, MemberState s) {
  const bool was_up = m.state == MemberState::kAlive || m.state == MemberState::kSuspect;
  const bool is_up = s == MemberState::kAlive || s == MemberState::kSuspect;
  if (was_up && !is_up) --num_alive_;
  if (!was_up && is_up) ++num_alive_;
  if (m.state != s) m.state_change = clock_.now();
  m.state = s;
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
  const Member* m = find(names_->find(name));
  if (m == nullptr) return std::nullopt;
  return info(*m);
}

std::optional<MemberState> Node::state_of(std::string_view name) const {
  const Member* m = find(names_->find(name));
  if (m == nullptr) return std::nullopt;
  return m->state;
}

void Node::insert_member_quietly(std::string_view name, const Address& address, uint32_t incarnation,
                                 uint64_t boot_id) {
  const NameId id = names_->intern(name);
  if (id == self_) return;
  if (Member* m = find(id)) {
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
  members_.reserve(members);
  probe_order_.reserve(members);
  if (slot_by_name_.size() < names_->size()) slot_by_name_.resize(names_->size(), 0);
}

uint32_t Node::retransmit_limit() const { return gossip::retransmit_limit(config_.retransmit_mult, num_alive_); }

// ------------------------------------------------------- lifecycle, timers

void Node::start() {
  if (started_) return;
  started_ = true;
  const TimePoint now = clock_.now();
  members_[0].address = transport_.local_address();
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
  schedule(now + std::max<Duration>(std::chrono::seconds(1), Duration(config_.dead_reclaim_time) / 8),
           TimerKind::kReap);
}

void Node::schedule(TimePoint when, TimerKind kind, uint32_t arg) { timers_.push(Timer{when, kind, arg}); }

TimePoint Node::next_deadline() const {
  TimePoint t = timers_.empty() ? kNever : timers_.top().when;
  if (delegate_ != nullptr) t = std::min(t, delegate_->next_deadline());
  return t;
}

void Node::tick() {
  const TimePoint now = clock_.now();
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
      if (now - t.when > Duration(config_.probe_timeout)) adjust_health(1);
      schedule(now + scaled(config_.probe_interval), TimerKind::kProbe);
      probe();
      break;
    case TimerKind::kProbeTimeout:
      probe_timeout(t.arg);
      break;
    case TimerKind::kRelayTimeout:
      relay_timeout(t.arg);
      break;
    case TimerKind::kGossip:
      schedule(now + Duration(config_.gossip_interval), TimerKind::kGossip);
      gossip();
      break;
    case TimerKind::kPushPull: {
      // After the first exchange, pick a random phase in the scaled period:
      // nodes started together (or a cluster that just grew) then spread
      // their full-state exchanges evenly instead of in waves.
      const Duration period = Duration(config_.push_pull_interval) * push_pull_scale(num_alive_);
      const Duration next = first_push_pull_done_
                                ? period
                                : Duration(static_cast<int64_t>(rng_.below(static_cast<uint64_t>(period.count()) + 1)));
      first_push_pull_done_ = true;
      schedule(now + next, TimerKind::kPushPull);
      if (leaving_) break;
      select_random(1, kNoName, false, select_scratch_);
      if (!select_scratch_.empty()) push_pull_with(members_[select_scratch_[0]].address, StreamKind::kPushPull);
      break;
    }
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
      schedule(now + std::max<Duration>(std::chrono::seconds(1), Duration(config_.dead_reclaim_time) / 8),
               TimerKind::kReap);
      reap();
      break;
    case TimerKind::kSuspicion: {
      const auto it = suspicions_.find(t.arg);
      if (it != suspicions_.end() && it->second.deadline <= now) declare_dead(t.arg);
      break;
    }
  }
}

Duration Node::scaled(Duration d) const { return awareness_scale(d, health_); }

void Node::adjust_health(int delta) {
  const int max = static_cast<int>(config_.awareness_max_multiplier) - 1;
  health_ = static_cast<uint32_t>(std::clamp(static_cast<int>(health_) + delta, 0, max));
}

void Node::reap() {
  const TimePoint now = clock_.now();
  const Duration keep = config_.dead_reclaim_time;
  for (size_t i = members_.size(); i-- > 1;) {
    const Member& m = members_[i];
    if ((m.state == MemberState::kDead || m.state == MemberState::kLeft) && now - m.state_change >= keep) {
      remove_member(m.name);
      ++counters_[Counter::reaped];
    }
  }
}

// ------------------------------------------------------------------ join

void Node::join(const std::vector<Address>& seeds) {
  for (const auto& s : seeds) {
    if (s != transport_.local_address() && std::find(seeds_.begin(), seeds_.end(), s) == seeds_.end()) {
      seeds_.push_back(s);
    }
  }
  join_attempts_ = 0;
  if (seeds_.empty()) {
    joined_ = true;  // the first node of a cluster: nobody to ask
    return;
  }
  if (joined_) {
    // Joining again: one more exchange with each seed, no retries needed.
    for (const auto& seed : seeds_) push_pull_with(seed, StreamKind::kJoin);
    return;
  }
  try_join();
}

void Node::try_join() {
  if (joined_ || leaving_) return;
  if (config_.join_max_attempts != 0 && join_attempts_ >= config_.join_max_attempts) return;
  if (join_attempts_ > 0) ++counters_[Counter::join_failed];
  ++join_attempts_;
  for (const auto& seed : seeds_) push_pull_with(seed, StreamKind::kJoin);
  schedule(clock_.now() + Duration(config_.join_retry_interval), TimerKind::kJoin);
}

void Node::leave() {
  if (leaving_) return;
  leaving_ = true;
  Member& me = members_[0];
  set_state(me, MemberState::kLeft);
  broadcast_dead(me, names_->name(self_));
}

bool Node::leave_drained() const { return leaving_ && broadcasts_.empty(); }

// ------------------------------------------------------------- probing

NameId Node::next_probe_target() {
  for (int round = 0; round < 2; ++round) {
    while (probe_index_ < probe_order_.size()) {
      const NameId id = probe_order_[probe_index_++];
      const Member* m = find(id);
      if (m != nullptr && id != self_ && (m->state == MemberState::kAlive || m->state == MemberState::kSuspect)) {
        return id;
      }
    }
    // End of a round: a fresh shuffled order of the current members.
    probe_order_.clear();
    probe_index_ = 0;
    for (size_t i = 1; i < members_.size(); ++i) {
      if (members_[i].state == MemberState::kAlive || members_[i].state == MemberState::kSuspect) {
        probe_order_.push_back(members_[i].name);
      }
    }
    std::shuffle(probe_order_.begin(), probe_order_.end(), rng_.engine());
  }
  return kNoName;
}

void Node::probe() {
  finish_probe();
  if (leaving_) return;
  const NameId target = next_probe_target();
  if (target == kNoName) return;
  const Member* m = find(target);
  const uint32_t seq = next_seq_++;
  probe_ = Probe{seq, target, false, 0, 0};
  ack_waits_[seq] = AckWait{false, target, {}, 0, false};
  ++counters_[Counter::probes];
  v1::Ping ping;
  ping.set_seq(seq);
  ping.set_target(names_->name(target));
  std::string framed;
  append_message(framed, kPing, ping);
  send_packet(m->address, std::move(framed));
  schedule(clock_.now() + scaled(config_.probe_timeout), TimerKind::kProbeTimeout, seq);
}

void Node::probe_timeout(uint32_t seq) {
  if (probe_.seq != seq || probe_.acked) return;
  const Member* target = find(probe_.target);
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
    append_field(framed, kIndirectPing, body);
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
  adjust_health(delta);
  Member* m = find(p.target);
  if (m == nullptr || m->state != MemberState::kAlive) return;
  ++counters_[Counter::suspect_raised];
  set_state(*m, MemberState::kSuspect);
  start_suspicion(*m, self_);
  broadcast_suspect(*m, names_->name(self_));
}

void Node::relay_timeout(uint32_t seq) {
  const auto it = ack_waits_.find(seq);
  if (it == ack_waits_.end() || !it->second.relay) return;
  if (it->second.want_nack) {
    v1::Nack nack;
    nack.set_seq(it->second.requester_seq);
    std::string framed;
    append_message(framed, kNack, nack);
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
  if (it->second.relay) {
    v1::Ack ack;
    ack.set_seq(it->second.requester_seq);
    std::string framed;
    append_message(framed, kAck, ack);
    const Address to = it->second.requester;
    ack_waits_.erase(it);
    send_packet(to, std::move(framed));
    return;
  }
  if (probe_.seq == seq && !probe_.acked) {
    probe_.acked = true;
    ++counters_[Counter::probe_acked];
    adjust_health(-1);
  }
}

void Node::on_nack(uint32_t seq) {
  ++counters_[Counter::nack_rx];
  if (probe_.seq == seq && !probe_.acked) {
    ++probe_.nacks;
  } else {
    ++counters_[Counter::unexpected_ack];
  }
}

// ------------------------------------------------- state machine (SWIM)

void Node::handle_alive(std::string_view name, uint32_t incarnation, const Address& addr, uint64_t boot_id) {
  NameId id = names_->find(name);
  if (id == self_) {
    if (leaving_) return;
    Member& me = members_[0];
    // Someone believes in another life of ours (a previous boot or address)
    // at our incarnation or above: jump above it.
    const bool other_life = boot_id != me.boot_id || addr != me.address;
    if ((other_life && incarnation >= me.incarnation) || incarnation > me.incarnation) refute(incarnation);
    return;
  }
  Member* m = id == kNoName ? nullptr : find(id);
  if (m == nullptr) {
    if (id == kNoName) id = names_->intern(name);
    Member& added = add_member(id, addr, incarnation, boot_id);
    broadcast_alive(added);
    if (delegate_ != nullptr) delegate_->notify_join(info(added));
    return;
  }
  if (incarnation <= m->incarnation) return;
  const bool was_down = m->state == MemberState::kDead || m->state == MemberState::kLeft;
  m->incarnation = incarnation;
  m->address = addr;
  m->boot_id = boot_id;
  suspicions_.erase(id);
  set_state(*m, MemberState::kAlive);
  if (was_down) add_to_probe_order(id);
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
    if (leaving_ || incarnation < members_[0].incarnation) return;
    adjust_health(1);  // Lifeguard: being suspected hints at our own slowness
    refute(incarnation);
    return;
  }
  Member* m = find(id);
  if (m == nullptr || incarnation < m->incarnation) return;
  const NameId from_id = names_->find(from);
  if (m->state == MemberState::kSuspect) {
    auto it = suspicions_.find(id);
    if (it == suspicions_.end() || from_id == kNoName) return;
    Suspicion& s = it->second;
    if (s.confirmers.size() > s.k ||
        std::find(s.confirmers.begin(), s.confirmers.end(), from_id) != s.confirmers.end()) {
      return;
    }
    s.confirmers.push_back(from_id);
    const auto c = static_cast<uint32_t>(s.confirmers.size() - 1);
    s.deadline = std::max(s.start + suspicion_timeout(s.min, s.max, c, s.k), clock_.now());
    schedule(s.deadline, TimerKind::kSuspicion, id);
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
  set_state(*m, MemberState::kSuspect);
  start_suspicion(*m, from_id);
  broadcast_suspect(*m, from);
}

void Node::handle_dead(std::string_view name, uint32_t incarnation, std::string_view from) {
  const NameId id = names_->find(name);
  if (id == kNoName) return;
  if (id == self_) {
    // A leave echo of our own, or news of a previous life: refute the latter.
    if (leaving_ || incarnation < members_[0].incarnation) return;
    refute(incarnation);
    return;
  }
  Member* m = find(id);
  if (m == nullptr || incarnation < m->incarnation) return;
  if (m->state == MemberState::kDead || m->state == MemberState::kLeft) return;
  m->incarnation = incarnation;
  suspicions_.erase(id);
  set_state(*m, from == name ? MemberState::kLeft : MemberState::kDead);
  broadcast_dead(*m, from);
  if (delegate_ != nullptr) delegate_->notify_leave(info(*m));
}

void Node::refute(uint32_t seen_incarnation) {
  Member& me = members_[0];
  me.incarnation = std::max(me.incarnation, seen_incarnation) + 1;
  ++counters_[Counter::refutes];
  broadcast_alive(me);
}

void Node::start_suspicion(Member& m, NameId from) {
  const TimePoint now = clock_.now();
  Suspicion s;
  s.start = now;
  s.min = suspicion_min_timeout(config_.suspicion_mult, num_alive_, Duration(config_.probe_interval));
  s.max = s.min * config_.suspicion_max_timeout_mult;
  s.k = config_.suspicion_mult >= 2 ? config_.suspicion_mult - 2 : 0;
  s.confirmers.push_back(from);
  s.deadline = now + (s.k == 0 ? s.min : s.max);
  schedule(s.deadline, TimerKind::kSuspicion, m.name);
  suspicions_[m.name] = std::move(s);
}

void Node::declare_dead(NameId id) {
  suspicions_.erase(id);
  Member* m = find(id);
  if (m == nullptr || m->state != MemberState::kSuspect) return;
  ++counters_[Counter::dead_declared];
  set_state(*m, MemberState::kDead);
  broadcast_dead(*m, names_->name(self_));
  if (delegate_ != nullptr) delegate_->notify_leave(info(*m));
}

void Node::broadcast_alive(const Member& m) {
  v1::Alive a;
  a.set_name(names_->name(m.name));
  a.set_incarnation(m.incarnation);
  a.set_ip(m.address.ip);
  a.set_port(m.address.port);
  a.set_boot_id(m.boot_id);
  std::string framed;
  append_message(framed, kAlive, a);
  broadcasts_.queue(names_->name(m.name), std::move(framed));
}

void Node::broadcast_suspect(const Member& m, std::string_view from) {
  const std::string& name = names_->name(m.name);
  broadcasts_.queue(name, framed_accusation<v1::Suspect>(kSuspect, name, m.incarnation, from));
}

void Node::broadcast_dead(const Member& m, std::string_view from) {
  const std::string& name = names_->name(m.name);
  broadcasts_.queue(name, framed_accusation<v1::Dead>(kDead, name, m.incarnation, from));
}

// ---------------------------------------------------------------- sending

bool Node::eligible(const Member& m, NameId exclude, bool include_recent_dead, TimePoint now) const {
  if (m.name == self_ || m.name == exclude) return false;
  if (m.state == MemberState::kAlive || m.state == MemberState::kSuspect) return true;
  return include_recent_dead && m.state == MemberState::kDead &&
         now - m.state_change < Duration(config_.gossip_to_the_dead);
}

void Node::select_random(size_t k, NameId exclude, bool include_recent_dead, std::vector<uint32_t>& out) {
  out.clear();
  const TimePoint now = clock_.now();
  const size_t n = members_.size();
  if (k == 0 || n <= 1) return;
  if (n <= 4 * k + 16) {
    for (size_t i = 1; i < n; ++i) {
      if (eligible(members_[i], exclude, include_recent_dead, now)) out.push_back(static_cast<uint32_t>(i));
    }
    for (size_t i = 0; i < out.size() && i < k; ++i) std::swap(out[i], out[i + rng_.below(out.size() - i)]);
    if (out.size() > k) out.resize(k);
    return;
  }
  // Large views: rejection sampling (most members are eligible).
  for (size_t attempt = 0; attempt < 8 * k && out.size() < k; ++attempt) {
    const auto slot = static_cast<uint32_t>(1 + rng_.below(n - 1));
    if (!eligible(members_[slot], exclude, include_recent_dead, now)) continue;
    if (std::find(out.begin(), out.end(), slot) != out.end()) continue;
    out.push_back(slot);
  }
}

const Node::Member* Node::random_dead() {
  const size_t n = members_.size();
  if (n <= 1) return nullptr;
  for (int attempt = 0; attempt < 16; ++attempt) {
    const Member& m = members_[1 + rng_.below(n - 1)];
    if (m.state == MemberState::kDead) return &m;
  }
  if (n > 256) return nullptr;  // few dead among many: try again next period
  select_scratch_.clear();
  for (size_t i = 1; i < n; ++i) {
    if (members_[i].state == MemberState::kDead) select_scratch_.push_back(static_cast<uint32_t>(i));
  }
  if (select_scratch_.empty()) return nullptr;
  return &members_[select_scratch_[rng_.below(select_scratch_.size())]];
}

size_t Node::fill_broadcasts(std::string& out, size_t budget) {
  size_t used = broadcasts_.get_each(0, budget, retransmit_limit(), [&](const std::string& item) { out += item; });
  if (delegate_ != nullptr && used + kUserOverhead < budget) {
    user_scratch_.clear();
    delegate_->get_broadcasts(kUserOverhead, budget - used, user_scratch_);
    for (const auto& item : user_scratch_) {
      const size_t before = out.size();
      append_field(out, kUser, item);
      used += out.size() - before;
    }
  }
  return used;
}

void Node::send_packet(const Address& to, std::string&& framed_messages, bool piggyback) {
  std::string out;
  out.reserve(config_.max_packet_size);
  append_field(out, kFrom, names_->name(self_));
  out += framed_messages;
  if (piggyback && out.size() < config_.max_packet_size) fill_broadcasts(out, config_.max_packet_size - out.size());
  ++counters_[Counter::packets_tx];
  counters_[Counter::bytes_tx] += out.size();
  transport_.send_packet(to, std::move(out));
}

void Node::gossip() {
  select_random(config_.gossip_nodes, kNoName, true, select_scratch_);
  // select_scratch_ is reused below by nobody: copy the few slots first.
  uint32_t targets[16];
  const size_t count = std::min<size_t>(select_scratch_.size(), 16);
  std::copy_n(select_scratch_.begin(), count, targets);
  for (size_t i = 0; i < count; ++i) {
    std::string out;
    out.reserve(config_.max_packet_size);
    append_field(out, kFrom, names_->name(self_));
    const size_t header = out.size();
    fill_broadcasts(out, config_.max_packet_size - header);
    if (out.size() == header) return;  // nothing to say
    ++counters_[Counter::gossip_sent];
    ++counters_[Counter::packets_tx];
    counters_[Counter::bytes_tx] += out.size();
    transport_.send_packet(members_[targets[i]].address, std::move(out));
  }
}

Result<void> Node::send_user(const Address& to, std::string_view payload) {
  std::string framed;
  append_field(framed, kUser, payload);
  const size_t header = 2 + names_->name(self_).size();
  if (framed.size() + header > config_.max_packet_size) {
    return make_error("gossip: user payload of {} bytes does not fit a {}-byte datagram", payload.size(),
                      config_.max_packet_size);
  }
  send_packet(to, std::move(framed));
  return ok();
}

uint64_t Node::user_request(const Address& to, std::string payload) {
  v1::StreamRequest req;
  req.set_from(names_->name(self_));
  req.set_user(std::move(payload));
  const uint64_t id = next_request_id_++;
  requests_[id] = StreamKind::kUser;
  std::string bytes = req.SerializeAsString();
  counters_[Counter::stream_bytes_tx] += bytes.size();
  transport_.request(to, id, std::move(bytes));
  return id;
}

// ---------------------------------------------------------------- receiving

void Node::on_packet(const Address& from, Bytes data) {
  ++counters_[Counter::packets_rx];
  counters_[Counter::bytes_rx] += data.size();
  // One decode buffer per thread (its repeated fields keep their capacity);
  // a nested call (a delegate delivering to another node synchronously)
  // gets its own.
  thread_local v1::Packet shared_pkt;
  thread_local int depth = 0;
  std::unique_ptr<v1::Packet> nested;
  if (depth > 0) nested = std::make_unique<v1::Packet>();
  v1::Packet& pkt = nested ? *nested : shared_pkt;
  struct DepthGuard {
    int& d;
    explicit DepthGuard(int& x) : d(x) { ++d; }
    ~DepthGuard() { --d; }
  } guard(depth);
  pkt.Clear();
  if (data.size() > config_.max_stream_size || !pkt.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    ++counters_[Counter::malformed];
    return;
  }
  if (!pkt.GetReflection()->GetUnknownFields(pkt).empty()) ++counters_[Counter::unknown_fields];
  if (!valid_name(pkt.from())) {
    ++counters_[Counter::invalid_msg];
    return;
  }
  for (const auto& a : pkt.alive()) {
    if (!valid_name(a.name()) || a.port() == 0 || a.port() > 65535) {
      ++counters_[Counter::invalid_msg];
      continue;
    }
    handle_alive(a.name(), a.incarnation(), make_address(a.ip(), a.port()), a.boot_id());
  }
  for (const auto& s : pkt.suspect()) {
    if (!valid_name(s.name()) || !valid_name(s.from())) {
      ++counters_[Counter::invalid_msg];
      continue;
    }
    handle_suspect(s.name(), s.incarnation(), s.from());
  }
  for (const auto& d : pkt.dead()) {
    if (!valid_name(d.name()) || !valid_name(d.from())) {
      ++counters_[Counter::invalid_msg];
      continue;
    }
    handle_dead(d.name(), d.incarnation(), d.from());
  }
  for (const auto& p : pkt.ping()) {
    if (p.target() != names_->name(self_)) {
      ++counters_[Counter::ping_wrong_target];
      continue;
    }
    ++counters_[Counter::ping_rx];
    v1::Ack ack;
    ack.set_seq(p.seq());
    std::string framed;
    append_message(framed, kAck, ack);
    send_packet(from, std::move(framed));
  }
  for (const auto& ip : pkt.indirect_ping()) {
    if (!valid_name(ip.target()) || ip.target_port() == 0 || ip.target_port() > 65535) {
      ++counters_[Counter::invalid_msg];
      continue;
    }
    ++counters_[Counter::indirect_relayed];
    const uint32_t seq = next_seq_++;
    const NameId target = names_->find(ip.target());
    ack_waits_[seq] = AckWait{true, target, from, ip.seq(), ip.nack()};
    v1::Ping ping;
    ping.set_seq(seq);
    ping.set_target(ip.target());
    std::string framed;
    append_message(framed, kPing, ping);
    send_packet(make_address(ip.target_ip(), ip.target_port()), std::move(framed));
    schedule(clock_.now() + scaled(config_.probe_timeout) * 4 / 5, TimerKind::kRelayTimeout, seq);
  }
  for (const auto& a : pkt.ack()) on_ack(a.seq());
  for (const auto& n : pkt.nack()) on_nack(n.seq());
  if (delegate_ != nullptr) {
    for (const auto& u : pkt.user()) {
      ++counters_[Counter::user_rx];
      delegate_->notify_user_msg(pkt.from(), Bytes(reinterpret_cast<const uint8_t*>(u.data()), u.size()));
    }
  }
}

// ------------------------------------------------------------- push-pull

// Encoded by hand (like datagrams): a 10 000-member state would otherwise
// be 10 000 protobuf objects and 20 000 allocations per exchange.
std::string Node::encode_state(bool join) {
  std::string out;
  out.reserve(members_.size() * 40 + 64);
  if (join) {
    append_varint(out, (1u << 3) | 0);
    append_varint(out, 1);
  }
  std::string rec;
  for (const auto& m : members_) {
    rec.clear();
    append_field(rec, 1, names_->name(m.name));
    append_varint(rec, (2u << 3) | 0);
    append_varint(rec, m.incarnation);
    append_varint(rec, (3u << 3) | 5);
    for (int i = 0; i < 4; ++i) rec.push_back(static_cast<char>((m.address.ip >> (8 * i)) & 0xff));
    append_varint(rec, (4u << 3) | 0);
    append_varint(rec, m.address.port);
    append_varint(rec, (5u << 3) | 0);
    append_varint(rec, static_cast<uint64_t>(m.state));
    append_varint(rec, (6u << 3) | 1);
    for (int i = 0; i < 8; ++i) rec.push_back(static_cast<char>((m.boot_id >> (8 * i)) & 0xff));
    append_field(out, 2, rec);
  }
  if (delegate_ != nullptr) {
    const std::string user = delegate_->local_state(join);
    if (!user.empty()) append_field(out, 3, user);
  }
  return out;
}

void Node::merge_state(const v1::PushPull& pp) {
  const std::string self_name = names_->name(self_);
  for (const auto& r : pp.members()) {
    if (!valid_name(r.name()) || r.port() == 0 || r.port() > 65535) {
      ++counters_[Counter::invalid_msg];
      continue;
    }
    switch (r.status()) {
      case v1::ALIVE:
        handle_alive(r.name(), r.incarnation(), make_address(r.ip(), r.port()), r.boot_id());
        break;
      case v1::SUSPECT:
      case v1::DEAD:
        // A peer's "dead" may come from a partition we did not see: suspect
        // it here and let our own probes and its refutation decide.
        handle_suspect(r.name(), r.incarnation(), self_name);
        break;
      case v1::LEFT:
        handle_dead(r.name(), r.incarnation(), r.name());
        break;
      default:
        ++counters_[Counter::invalid_msg];
        break;
    }
  }
  if (delegate_ != nullptr) {
    const auto& s = pp.user_state();
    delegate_->merge_remote_state(Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size()), pp.join());
  }
}

void Node::push_pull_with(const Address& to, StreamKind kind) {
  // StreamRequest{from = 1, push_pull = 2}
  std::string bytes;
  append_field(bytes, 1, names_->name(self_));
  append_field(bytes, 2, encode_state(kind == StreamKind::kJoin));
  const uint64_t id = next_request_id_++;
  requests_[id] = kind;
  counters_[Counter::stream_bytes_tx] += bytes.size();
  transport_.request(to, id, std::move(bytes));
}

std::string Node::on_stream_request(const Address& from, Bytes request) {
  (void)from;
  ++counters_[Counter::stream_rx];
  counters_[Counter::stream_bytes_rx] += request.size();
  // Big frames decode into an arena: one bulk free instead of one per record.
  google::protobuf::Arena arena;
  auto& req = *google::protobuf::Arena::CreateMessage<v1::StreamRequest>(&arena);
  if (request.size() > config_.max_stream_size ||
      !req.ParseFromArray(request.data(), static_cast<int>(request.size())) || !valid_name(req.from())) {
    ++counters_[Counter::malformed];
    return {};
  }
  v1::StreamResponse resp;
  switch (req.body_case()) {
    case v1::StreamRequest::kPushPull: {
      // Merge first, answer second: a peer that believed us dead then hears
      // our refutation in this very response (heals partitions in one step).
      merge_state(req.push_pull());
      std::string out;  // StreamResponse{push_pull = 1}
      append_field(out, 1, encode_state(req.push_pull().join()));
      counters_[Counter::stream_bytes_tx] += out.size();
      return out;
    }
    case v1::StreamRequest::kUser: {
      const auto& u = req.user();
      std::string answer =
          delegate_ == nullptr
              ? std::string()
              : delegate_->handle_user_request(req.from(), Bytes(reinterpret_cast<const uint8_t*>(u.data()), u.size()));
      resp.set_user(std::move(answer));
      break;
    }
    default:
      ++counters_[Counter::invalid_msg];
      resp.set_error("unknown request");
      break;
  }
  std::string out = resp.SerializeAsString();
  counters_[Counter::stream_bytes_tx] += out.size();
  return out;
}

void Node::on_stream_response(uint64_t request_id, Result<std::string> response) {
  const auto it = requests_.find(request_id);
  if (it == requests_.end()) return;
  const StreamKind kind = it->second;
  requests_.erase(it);
  if (kind == StreamKind::kUser) {
    if (delegate_ == nullptr) return;
    if (!response) {
      delegate_->notify_user_response(request_id, std::move(response).error());
      return;
    }
    v1::StreamResponse resp;
    if (!resp.ParseFromString(*response) || !resp.error().empty()) {
      ++counters_[Counter::malformed];
      delegate_->notify_user_response(request_id, make_error("gossip: bad user response"));
      return;
    }
    delegate_->notify_user_response(request_id, std::string(resp.user()));
    return;
  }
  if (!response) {
    ++counters_[Counter::push_pull_failed];
    return;
  }
  counters_[Counter::stream_bytes_rx] += response->size();
  google::protobuf::Arena arena;
  auto& resp = *google::protobuf::Arena::CreateMessage<v1::StreamResponse>(&arena);
  if (response->size() > config_.max_stream_size || !resp.ParseFromString(*response) || !resp.has_push_pull()) {
    ++counters_[Counter::malformed];
    ++counters_[Counter::push_pull_failed];
    return;
  }
  handle_push_pull_response(kind, resp.push_pull());
}

void Node::handle_push_pull_response(StreamKind kind, const v1::PushPull& pp) {
  ++counters_[Counter::push_pull_ok];
  merge_state(pp);
  if (kind == StreamKind::kJoin) joined_ = true;
}

}  // namespace ferry::gossip
