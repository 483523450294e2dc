// Node: joining, push-pull anti-entropy and the user layer's request
// streams. A push-pull exchanges the whole member list (and the delegate's
// local_state) with one peer: it heals what lost gossip missed and
// partitions, and is how a joining node learns the cluster.
#include "control/gossip/node.h"

#include <google/protobuf/arena.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "control/gossip/gossip.pb.h"
#include "control/gossip/timing.h"
#include "control/gossip/wire_format.h"

namespace ferry::gossip {

using wire::append_field;
using wire::append_varint;

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
  if (join_attempts_ > 0) {
    ++counters_[Counter::join_failed];
    note_drop(LogReason::kJoinFailed, seeds_.front());
  }
  ++join_attempts_;
  for (const auto& seed : seeds_) push_pull_with(seed, StreamKind::kJoin);
  schedule(clock_.now() + Duration(config_.join_retry_interval), TimerKind::kJoin);
}

// ------------------------------------------------------------- push-pull

void Node::on_push_pull_timer(TimePoint now) {
  // After the first exchange, pick a random phase in the scaled period:
  // nodes started together (or a cluster that just grew) then spread their
  // full-state exchanges evenly instead of in waves.
  const Duration period = Duration(config_.push_pull_interval) * push_pull_scale(members_.num_up());
  const Duration next = first_push_pull_done_
                            ? period
                            : Duration(static_cast<int64_t>(rng_.below(static_cast<uint64_t>(period.count()) + 1)));
  first_push_pull_done_ = true;
  schedule(now + next, TimerKind::kPushPull);
  if (leaving_) return;
  select_random(1, kNoName, false, select_scratch_);
  if (!select_scratch_.empty()) push_pull_with(members_[select_scratch_[0]].address, StreamKind::kPushPull);
}

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

void Node::merge_state(const v1::PushPull& pp, std::string_view peer) {
  for (const auto& r : pp.members()) {
    if (!wire::valid_name(r.name()) || !wire::valid_port(r.port())) {
      ++counters_[Counter::invalid_msg];
      continue;
    }
    switch (r.status()) {
      case v1::ALIVE:
        handle_alive(r.name(), r.incarnation(), wire::make_address(r.ip(), r.port()), r.boot_id());
        break;
      case v1::SUSPECT:
      case v1::DEAD:
        merge_accusation(r.name(), r.incarnation(), r.status() == v1::DEAD, peer);
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
  requests_[id] = PendingStream{kind, to};
  counters_[Counter::stream_bytes_tx] += bytes.size();
  transport_.request(to, id, std::move(bytes));
}

void Node::handle_push_pull_response(StreamKind kind, const Address& peer, const v1::PushPull& pp) {
  ++counters_[Counter::push_pull_ok];
  const bool joining = kind == StreamKind::kJoin && !joined_;
  quiet_joins_ = joining;  // one summary line below instead of a line per member
  merge_state(pp, peer.to_string());
  quiet_joins_ = false;
  if (kind != StreamKind::kJoin) return;
  joined_ = true;
  if (joining) {
    log().info("gossip: joined the cluster: {} members known, {} of them up (this node included)", members_.size(),
               members_.num_up());
  }
}

// ---------------------------------------------------------------- streams

uint64_t Node::user_request(const Address& to, std::string payload) {
  v1::StreamRequest req;
  req.set_from(names_->name(self_));
  req.set_user(std::move(payload));
  const uint64_t id = next_request_id_++;
  requests_[id] = PendingStream{StreamKind::kUser, to};
  std::string bytes = req.SerializeAsString();
  counters_[Counter::stream_bytes_tx] += bytes.size();
  transport_.request(to, id, std::move(bytes));
  return id;
}

std::string Node::on_stream_request(const Address& from, Bytes request) {
  ++counters_[Counter::stream_rx];
  counters_[Counter::stream_bytes_rx] += request.size();
  // Big frames decode into an arena: one bulk free instead of one per record.
  google::protobuf::Arena arena;
  auto& req = *google::protobuf::Arena::CreateMessage<v1::StreamRequest>(&arena);
  if (request.size() > config_.max_stream_size ||
      !req.ParseFromArray(request.data(), static_cast<int>(request.size())) || !wire::valid_name(req.from())) {
    ++counters_[Counter::malformed];
    note_drop(LogReason::kMalformed, from);
    return {};
  }
  if (req.body_case() == v1::StreamRequest::kPushPull) {
    // Merge first, answer second: a peer that believed us dead then hears
    // our refutation in this very response (heals partitions in one step).
    merge_state(req.push_pull(), req.from());
    std::string out;  // StreamResponse{push_pull = 1}
    append_field(out, 1, encode_state(req.push_pull().join()));
    counters_[Counter::stream_bytes_tx] += out.size();
    return out;
  }
  std::string out = serve_user_request(req);
  counters_[Counter::stream_bytes_tx] += out.size();
  return out;
}

std::string Node::serve_user_request(const v1::StreamRequest& req) {
  v1::StreamResponse resp;
  if (req.body_case() == v1::StreamRequest::kUser) {
    const auto& u = req.user();
    std::string answer =
        delegate_ == nullptr
            ? std::string()
            : delegate_->handle_user_request(req.from(), Bytes(reinterpret_cast<const uint8_t*>(u.data()), u.size()));
    resp.set_user(std::move(answer));
  } else {
    ++counters_[Counter::invalid_msg];
    resp.set_error("unknown request");
  }
  return resp.SerializeAsString();
}

void Node::on_stream_response(uint64_t request_id, Result<std::string> response) {
  const auto it = requests_.find(request_id);
  if (it == requests_.end()) return;
  const StreamKind kind = it->second.kind;
  const Address peer = it->second.to;
  requests_.erase(it);
  if (kind == StreamKind::kUser) {
    on_user_response(request_id, std::move(response));
    return;
  }
  if (!response) {
    ++counters_[Counter::push_pull_failed];
    log().debug("gossip: {} exchange failed: {}", kind == StreamKind::kJoin ? "join" : "push-pull",
                response.error().message);
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
  handle_push_pull_response(kind, peer, resp.push_pull());
}

void Node::on_user_response(uint64_t request_id, Result<std::string> response) {
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
}

}  // namespace ferry::gossip
