// Allocator: donations. A host with allocations waiting and no free space
// asks another host for blocks (Node::user_request), one donor at a time
// (Shortage); the donor gives a share of its fully free blocks, or a
// specific address's block, by writing the next version of their records
// with the requester as owner, saved and broadcast before it answers. The
// requester checks the answer against its own map before taking it.
#include "control/ipam/allocator.h"

#include <algorithm>
#include <cmath>

#include "control/gossip/node.h"
#include "control/ipam/ipam.pb.h"

namespace ferry::ipam {

// --- the requester -----------------------------------------------------------

void Allocator::ask_donation(Pool& p, std::vector<Completion>& done) {
  Shortage& s = p.shortage;
  while (s.request == 0 && !p.pending.empty() && s.retry_at <= clock_.now()) {
    if (fenced()) {
      serve_pending(p, done);  // fails them with the fenced message
      return;
    }
    const std::string target = choose_donor(p, done);
    if (target.empty()) return;
    const auto member = node_.member(target);
    if (!member) {
      s.refuse(target, "not a member");
      continue;
    }
    const Pending& front = p.pending.front();
    v1::IpamMessage msg;
    auto* req = msg.mutable_donation_request();
    to_proto(p.spec, *req->mutable_spec());
    if (front.want) {
      req->set_specific(true);
      req->set_address(*front.want);
    }
    ++s.attempts;
    s.asked = target;
    s.request = node_.user_request(member->address, framing_.frame(msg));
    requests_[s.request] = p.spec.name;
    count(Counter::donations_asked);
  }
}

std::string Allocator::choose_donor(Pool& p, std::vector<Completion>& done) {
  Shortage& s = p.shortage;
  const Pending& front = p.pending.front();
  if (front.want) {
    // Only the owner of the address's block can give it.
    const std::uint32_t b = p.spec.block_of(*front.want);
    if (p.map.owner(b) == self_) return {};  // settling: tick() retries
    std::string target = p.map.owner(b);
    if (!s.refused.contains(target) && quorum_.alive(target)) return target;
    const std::string why = !quorum_.alive(target) ? std::string("is not reachable")
                            : s.failures.empty()   ? std::string("did not give it")
                                                   : s.failures.back();
    fail_front(p, make_error("address {} is in space owned by host {} ({})", p.spec.format(*front.want), target, why),
               done);
    s.refused.erase(target);
    serve_pending(p, done);  // the next ones may be served locally
    return {};
  }
  std::string target;
  const auto alive = [this](const std::string& name) { return quorum_.alive(name); };
  switch (s.choose_donor(p.map.owner_counts(), self_, alive, config_.donation_attempts, rng_, target)) {
    case Shortage::Choice::kAsk:
      return target;
    case Shortage::Choice::kUnreachable:
      fail_pending(p, s.exhausted_message(p.spec), done);
      return {};
    case Shortage::Choice::kFull:
      fail_pending(p, s.full_message(p.spec), done);
      return {};
    case Shortage::Choice::kRoundOver:
      // This round's donors said no. Space moves while donations spread by
      // gossip, so ask again a retry interval later; allocate_timeout ends it.
      s.end_round(clock_.now() + config_.retry_interval);
      return {};
  }
  return {};
}

void Allocator::on_donation_answer(std::uint64_t request_id, const Result<std::string>& response) {
  auto it = requests_.find(request_id);
  if (it == requests_.end()) return;
  Pool* p = find_pool(it->second);
  requests_.erase(it);
  if (p == nullptr || p->shortage.request != request_id) return;
  Shortage& s = p->shortage;
  s.request = 0;
  std::vector<Completion> done;
  if (!response) {
    count(Counter::donations_failed);
    s.refuse(s.asked, response.error().message);
    serve_pending(*p, done);
  } else {
    v1::IpamMessage msg;
    if (!msg.ParseFromString(*response) || msg.body_case() != v1::IpamMessage::kDonationResponse ||
        msg.donation_response().pool() != p->spec.name) {
      count(Counter::malformed);
      s.refuse(s.asked, "malformed answer");
      serve_pending(*p, done);
    } else {
      on_donation(*p, msg.donation_response(), done);
    }
  }
  run(done);
}

// A donation gives us blocks at the version after the donor's. It is a
// forgery (dropped whole) when our map contradicts that: we know the block
// at that version or later under another record, or at the version just
// before under another owner. A larger gap means the donor got the block in
// donations we have not heard of yet: nothing to check against.
bool Allocator::forged_donation(const Pool& p, const std::vector<Run>& runs, const std::string& donor) const {
  for (const Run& r : runs) {
    if (r.record.owner != self_ || r.record.reclaimed) return true;
    for (std::uint32_t b = r.first; b < r.first + r.count; ++b) {
      const Record& cur = p.map.at(b);
      if (cur == r.record) continue;  // gossip was faster
      if (cur.version >= r.record.version || (cur.version + 1 == r.record.version && cur.owner != donor)) return true;
    }
  }
  return false;
}

void Allocator::on_donation(Pool& p, const v1::DonationResponse& resp, std::vector<Completion>& done) {
  Shortage& s = p.shortage;
  const std::string donor = s.asked;
  if (resp.runs().empty()) {
    count(Counter::donations_refused);
    s.refuse(donor, resp.error().empty() ? "refused" : resp.error(), resp.no_free_block(), resp.hint());
    if (!resp.hint().empty() && resp.hint() != self_ && !s.refused.contains(resp.hint()) &&
        quorum_.alive(resp.hint())) {
      s.hint = resp.hint();
    }
    if (resp.address_in_use() && !p.pending.empty() && p.pending.front().want) {
      fail_front(p,
                 make_error("address {} is already in use (on host {})", p.spec.format(*p.pending.front().want), donor),
                 done);
    }
    serve_pending(p, done);
    return;
  }
  auto runs = decode_runs(resp.runs(), p.spec.num_blocks());
  if (!runs) {
    count(Counter::bad_range);
    s.refuse(donor, fmt::format("bad donation ({})", runs.error().message));
    serve_pending(p, done);
    return;
  }
  if (forged_donation(p, *runs, donor)) {
    count(Counter::forged);
    s.refuse(donor, "donation of blocks it does not own (dropped)");
    serve_pending(p, done);
    return;
  }
  std::uint32_t got = 0;
  for (const Run& r : *runs) {
    for (std::uint32_t b = r.first; b < r.first + r.count; ++b) {
      const Record before = p.map.at(b);
      if (p.map.merge(b, r.record)) {
        ++got;
        on_block_change(p, b, before, r.record);
      }
    }
  }
  count(Counter::donations_received);
  count(Counter::blocks_received, got);
  persist();
  s.clear();
  serve_pending(p, done);
}

// --- the donor ---------------------------------------------------------------

std::string Allocator::serve_donation(const std::string& from, const v1::DonationRequest& req) {
  v1::IpamMessage reply;
  auto* resp = reply.mutable_donation_response();
  resp->set_pool(req.spec().name());
  auto refuse = [&](std::string why) {
    count(Counter::donations_refused);
    resp->set_error(std::move(why));
    return reply.SerializeAsString();
  };
  auto decoded = from_proto(req.spec(), config_);
  if (!decoded) {
    count(Counter::malformed);
    return refuse("bad pool definition");
  }
  const PoolSpec& spec = *decoded;
  Pool* p = find_pool(spec.name);
  if (p != nullptr && !(p->spec == spec)) {
    count(Counter::pool_mismatch);
    return refuse(fmt::format("pool {} is defined differently here", spec.name));
  }
  if (p == nullptr) p = &add_pool(spec);
  if (from == self_ || !valid_name(from, 255)) return refuse("bad requester");
  if (fenced()) {
    count(Counter::fenced_refusals);
    return refuse("donor is fenced (no quorum)");
  }
  auto give = donation_blocks(*p, from, req, *resp);
  if (!give) return refuse(give.error().message);
  std::vector<std::pair<std::uint32_t, Record>> before;
  for (const std::uint32_t b : *give) {
    before.emplace_back(b, p->map.at(b));
    p->map.reset(b, Record{p->map.at(b).version + 1, from, false});
  }
  if (!persist()) {
    for (const auto& [b, r] : before) p->map.reset(b, r);
    return refuse("donor could not save its state");
  }
  const std::vector<Run> runs = runs_of(*p, *give);
  for (const Run& r : runs) encode_run(r, *resp->add_runs());
  broadcast(*p, runs, queue_);
  count(Counter::donations_given);
  count(Counter::blocks_given, give->size());
  return reply.SerializeAsString();
}

// The blocks to give `from`, or why none (the refusal's text); sets the
// answer's address_in_use and hint where they apply.
Result<std::vector<std::uint32_t>> Allocator::donation_blocks(const Pool& p, const std::string& from,
                                                              const v1::DonationRequest& req,
                                                              v1::DonationResponse& resp) const {
  const PoolSpec& spec = p.spec;
  if (req.specific()) {
    const Addr ip = req.address();
    if (!spec.contains(ip)) return make_error("{} is outside the pool", spec.format(ip));
    const std::uint32_t b = spec.block_of(ip);
    if (p.map.owner(b) != self_) return make_error("{} is not in this host's space", spec.format(ip));
    if (p.allocs.contains(ip)) {
      resp.set_address_in_use(true);
      return make_error("address {} is already in use on {}", spec.format(ip), self_);
    }
    if (p.allocs.in_use(b) || p.settling.contains(b)) {
      return make_error("the block of {} holds other addresses of {}", spec.format(ip), self_);
    }
    return std::vector<std::uint32_t>{b};
  }
  std::vector<std::uint32_t> free_blocks;
  for (const std::uint32_t b : p.map.blocks_of(self_)) {
    if (!p.allocs.in_use(b) && !p.settling.contains(b)) free_blocks.push_back(b);
  }
  if (free_blocks.empty()) {
    // Point the requester at whoever holds most space in this host's map:
    // it knows best where its own space went.
    std::uint32_t most = 0;
    for (const auto& [owner, n] : p.map.owner_counts()) {
      if (owner != self_ && owner != from && n > most) {
        most = n;
        resp.set_hint(owner);
      }
    }
    resp.set_no_free_block(true);
    return make_error("{} has no free block", self_);
  }
  auto n = static_cast<std::size_t>(std::floor(static_cast<double>(free_blocks.size()) * config_.donate_fraction));
  n = std::clamp<std::size_t>(n, 1, free_blocks.size());
  return std::vector<std::uint32_t>(free_blocks.end() - static_cast<std::ptrdiff_t>(n), free_blocks.end());  // the top
}

}  // namespace ferry::ipam
