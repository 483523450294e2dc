// Node: dissemination. Membership news (Alive, Suspect, Dead) is queued in
// a BroadcastQueue, each item sent a limited number of times; every
// outgoing datagram is filled up to max_packet_size with queued items and
// the delegate's broadcasts (piggybacking), and every gossip interval a few
// random members get a datagram of broadcasts alone.
#include "control/gossip/node.h"

#include <algorithm>

#include "control/gossip/gossip.pb.h"
#include "control/gossip/wire_format.h"

namespace ferry::gossip {

using wire::append_field;
using wire::append_message;

// ------------------------------------------------------------- broadcasts

void Node::broadcast_alive(const Member& m) {
  v1::Alive a;
  a.set_name(names_->name(m.name));
  a.set_incarnation(m.incarnation);
  a.set_ip(m.address.ip);
  a.set_port(m.address.port);
  a.set_boot_id(m.boot_id);
  std::string framed;
  append_message(framed, wire::kAlive, a);
  broadcasts_.queue(names_->name(m.name), std::move(framed));
}

void Node::broadcast_suspect(const Member& m, std::string_view from) {
  const std::string& name = names_->name(m.name);
  broadcasts_.queue(name, wire::framed_accusation<v1::Suspect>(wire::kSuspect, name, m.incarnation, from));
}

void Node::broadcast_dead(const Member& m, std::string_view from) {
  const std::string& name = names_->name(m.name);
  broadcasts_.queue(name, wire::framed_accusation<v1::Dead>(wire::kDead, name, m.incarnation, from));
}

// --------------------------------------------------------- random members

bool Node::eligible(const Member& m, NameId exclude, bool include_recent_dead, TimePoint now) const {
  if (m.name == self_ || m.name == exclude) return false;
  if (m.up()) return true;
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

// ---------------------------------------------------------------- sending

size_t Node::fill_broadcasts(std::string& out, size_t budget) {
  size_t used = broadcasts_.get_each(0, budget, retransmit_limit(), [&](const std::string& item) { out += item; });
  if (delegate_ != nullptr && used + wire::kUserOverhead < budget) {
    user_scratch_.clear();
    delegate_->get_broadcasts(wire::kUserOverhead, budget - used, user_scratch_);
    for (const auto& item : user_scratch_) {
      const size_t before = out.size();
      append_field(out, wire::kUser, item);
      used += out.size() - before;
    }
  }
  return used;
}

void Node::send_packet(const Address& to, std::string&& framed_messages, bool piggyback) {
  std::string out;
  out.reserve(config_.max_packet_size);
  append_field(out, wire::kFrom, names_->name(self_));
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
    append_field(out, wire::kFrom, names_->name(self_));
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
  append_field(framed, wire::kUser, payload);
  const size_t header = 2 + names_->name(self_).size();
  if (framed.size() + header > config_.max_packet_size) {
    return make_error("gossip: user payload of {} bytes does not fit a {}-byte datagram", payload.size(),
                      config_.max_packet_size);
  }
  send_packet(to, std::move(framed));
  return ok();
}

}  // namespace ferry::gossip
