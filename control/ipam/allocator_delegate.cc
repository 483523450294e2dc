// Allocator: the gossip::Delegate entry points. Messages are unframed and
// routed by kind (updates, full state, donation and sync requests, answers
// to this host's requests); anything that does not decode is counted and
// dropped. The timers (relay flush, sync, check, donation retries) run from
// tick().
#include "control/ipam/allocator.h"

#include <algorithm>

#include "control/ipam/ipam.pb.h"

namespace ferry::ipam {

using gossip::TimePoint;

void Allocator::notify_user_msg(std::string_view from_name, gossip::Bytes payload) {
  (void)from_name;
  v1::IpamMessage msg;
  if (!framing_.unframe(payload, msg) || msg.body_case() != v1::IpamMessage::kUpdate) {
    count(Counter::malformed);
    return;
  }
  receive(msg.update(), true);
}

std::string Allocator::local_state(bool join) {
  (void)join;
  v1::IpamMessage msg;
  auto* state = msg.mutable_state();
  for (const auto& [name, p] : pools_) add_pool_runs(p.spec, p.map.runs(), *state);
  return framing_.frame(msg);
}

void Allocator::merge_remote_state(gossip::Bytes state, bool join) {
  (void)join;
  if (state.empty()) return;
  v1::IpamMessage msg;
  if (!framing_.unframe(state, msg) || msg.body_case() != v1::IpamMessage::kState) {
    count(Counter::malformed);
    return;
  }
  receive(msg.state(), true);
}

std::string Allocator::handle_user_request(std::string_view from_name, gossip::Bytes request) {
  v1::IpamMessage msg;
  if (!framing_.unframe(request, msg)) {
    count(Counter::malformed);
    return {};
  }
  switch (msg.body_case()) {
    case v1::IpamMessage::kDonationRequest:
      return serve_donation(std::string(from_name), msg.donation_request());
    case v1::IpamMessage::kSyncRequest:
      return serve_sync(msg.sync_request());
    case v1::IpamMessage::kState:  // the second half of a sync
      receive(msg.state(), true);
      return {};
    default:
      count(Counter::malformed);
      return {};
  }
}

void Allocator::notify_user_response(uint64_t request_id, const Result<std::string>& response) {
  // A hand-over delivery: answered or not, the records also travel by gossip.
  if (handoffs_.erase(request_id) != 0) return;
  if (syncs_.contains(request_id)) {
    on_sync(request_id, response);
    return;
  }
  on_donation_answer(request_id, response);
}

void Allocator::notify_join(const gossip::MemberInfo& info) { quorum_.on_join(info.name); }

void Allocator::notify_leave(const gossip::MemberInfo& info) { quorum_.on_leave(info); }

TimePoint Allocator::next_deadline() const {
  TimePoint t = std::min({next_check_, relay_flush_, next_sync_});
  for (const auto& [name, p] : pools_) {
    if (!p.pending.empty() && p.shortage.request == 0 && p.shortage.retry_at > TimePoint{}) {
      t = std::min(t, p.shortage.retry_at);
    }
  }
  return t;
}

void Allocator::tick(TimePoint now) {
  if (now >= relay_flush_) flush_relay();
  if (now >= next_sync_) {
    // Jittered so a cluster started at once does not sync in waves.
    const auto period = std::chrono::duration_cast<gossip::Duration>(config_.sync_interval);
    next_sync_ = now + period / 2 +
                 gossip::Duration(static_cast<gossip::Duration::rep>(
                     rng_.below(static_cast<std::uint64_t>(std::max<gossip::Duration::rep>(period.count(), 1)))));
    start_sync();
  }
  if (now >= next_check_) {
    next_check_ = now + config_.check_interval;
    check(now);
    return;
  }
  // A donation round due before the next full check.
  std::vector<Completion> done;
  for (auto& [name, p] : pools_) {
    if (!p.pending.empty() && p.shortage.request == 0 && p.shortage.retry_at > TimePoint{} &&
        p.shortage.retry_at <= now) {
      serve_pending(p, done);
    }
  }
  run(done);
}

}  // namespace ferry::ipam
