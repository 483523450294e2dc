// Allocator: anti-entropy. About every sync_interval a host sends the
// digests of its maps to one owner of space; the peer answers with the full
// map of every pool whose digest differs, and the host pushes back the pools
// where it knew more than the peer sent. Gossip may lose records; this
// repairs them in a few KB, and sends nothing when the maps agree.
#include "control/ipam/allocator.h"

#include <iterator>

#include "control/gossip/node.h"
#include "control/ipam/ipam.pb.h"

namespace ferry::ipam {

void Allocator::start_sync() {
  if (pools_.empty()) return;
  // A peer among the owners of a random block of a random pool: always a
  // member that took part, found in O(1).
  auto it = pools_.begin();
  std::advance(it, static_cast<std::ptrdiff_t>(rng_.below(pools_.size())));
  const std::string peer = it->second.map.owner(static_cast<std::uint32_t>(rng_.below(it->second.map.size())));
  if (peer == self_ || !quorum_.alive(peer)) return;
  const auto member = node_.member(peer);
  if (!member) return;
  v1::IpamMessage msg;
  for (const auto& [name, p] : pools_) {
    auto* d = msg.mutable_sync_request()->add_digests();
    d->set_pool(name);
    d->set_digest(p.map.digest());
  }
  syncs_.emplace(node_.user_request(member->address, framing_.frame(msg)), peer);
  count(Counter::syncs);
}

std::string Allocator::serve_sync(const v1::SyncRequest& req) {
  std::map<std::string, std::uint64_t> theirs;
  for (const auto& d : req.digests()) theirs.emplace(d.pool(), d.digest());
  v1::IpamMessage reply;
  auto* state = reply.mutable_state();
  for (const auto& [name, p] : pools_) {
    auto t = theirs.find(name);
    if (t != theirs.end() && t->second == p.map.digest()) continue;
    add_pool_runs(p.spec, p.map.runs(), *state);
  }
  return reply.SerializeAsString();
}

void Allocator::on_sync(uint64_t request_id, const Result<std::string>& response) {
  const auto it = syncs_.find(request_id);
  const std::string peer = it->second;
  syncs_.erase(it);
  if (!response || response->empty()) return;
  v1::IpamMessage msg;
  if (!msg.ParseFromString(*response) || msg.body_case() != v1::IpamMessage::kState) {
    count(Counter::malformed);
    return;
  }
  if (msg.state().pools().empty()) return;  // in sync
  receive(msg.state(), true);
  count(Counter::syncs_repaired);
  // Push back the pools where this host knew more than the peer sent.
  v1::IpamMessage push;
  for (const auto& pr : msg.state().pools()) {
    const Pool* p = find_pool(pr.spec().name());
    const auto spec = from_proto(pr.spec(), config_);
    if (p == nullptr || !spec || !(p->spec == *spec)) continue;
    BlockMap sent(p->spec.num_blocks(), p->spec.genesis);
    auto runs = decode_runs(pr.runs(), p->spec.num_blocks());
    if (!runs) continue;
    for (const Run& r : *runs) sent.merge(r);
    if (sent.digest() == p->map.digest()) continue;
    add_pool_runs(p->spec, p->map.runs(), *push.mutable_state());
  }
  if (!push.has_state()) return;
  // The answer to a push is empty; its id is not tracked (ignored on arrival).
  if (const auto member = node_.member(peer)) node_.user_request(member->address, framing_.frame(push));
}

}  // namespace ferry::ipam
