// Node: inbound datagrams. One Packet carries any mix of membership news,
// probes, acks and user payloads; each message is checked (names, ports)
// before it reaches the state machine, and handled in a fixed order:
// membership news, pings, indirect pings, acks, nacks, the delegate's
// payloads.
#include "control/gossip/node.h"

#include <memory>

#include "control/gossip/gossip.pb.h"
#include "control/gossip/wire_format.h"

namespace ferry::gossip {

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
    note_drop(LogReason::kMalformed, from);
    return;
  }
  if (!pkt.GetReflection()->GetUnknownFields(pkt).empty()) ++counters_[Counter::unknown_fields];
  if (!wire::valid_name(pkt.from())) {
    ++counters_[Counter::invalid_msg];
    note_drop(LogReason::kInvalid, from);
    return;
  }
  dispatch(from, pkt);
}

void Node::dispatch(const Address& from, const v1::Packet& pkt) {
  dispatch_membership(from, pkt);
  for (const auto& p : pkt.ping()) serve_ping(from, p.seq(), p.target());
  for (const auto& ip : pkt.indirect_ping()) {
    if (!wire::valid_name(ip.target()) || !wire::valid_port(ip.target_port())) {
      ++counters_[Counter::invalid_msg];
      note_drop(LogReason::kInvalid, from);
      continue;
    }
    relay_indirect_ping(from, ip.target(), wire::make_address(ip.target_ip(), ip.target_port()), ip.seq(), ip.nack());
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

void Node::dispatch_membership(const Address& from, const v1::Packet& pkt) {
  for (const auto& a : pkt.alive()) {
    if (!wire::valid_name(a.name()) || !wire::valid_port(a.port())) {
      ++counters_[Counter::invalid_msg];
      note_drop(LogReason::kInvalid, from);
      continue;
    }
    handle_alive(a.name(), a.incarnation(), wire::make_address(a.ip(), a.port()), a.boot_id());
  }
  for (const auto& s : pkt.suspect()) {
    if (!wire::valid_name(s.name()) || !wire::valid_name(s.from())) {
      ++counters_[Counter::invalid_msg];
      note_drop(LogReason::kInvalid, from);
      continue;
    }
    handle_suspect(s.name(), s.incarnation(), s.from());
  }
  for (const auto& d : pkt.dead()) {
    if (!wire::valid_name(d.name()) || !wire::valid_name(d.from())) {
      ++counters_[Counter::invalid_msg];
      note_drop(LogReason::kInvalid, from);
      continue;
    }
    handle_dead(d.name(), d.incarnation(), d.from());
  }
}

}  // namespace ferry::gossip
