// Delegate: the hooks through which the user layer (replicated tables) rides on
// membership. Every hook is called on the node's thread, from inside
// Node::tick() or a PacketHandler call; hooks may call back into the Node
// (send_user, members, ...) but must not destroy it.
//
// How the tables layer is expected to use it (see INTERFACE.md):
//  - cluster-wide events (network attach/detach of a node): queue them in a
//    BroadcastQueue (broadcast_queue.h) and return them from get_broadcasts();
//    they ride on every membership packet and gossip round.
//  - per-network table events ("only to nodes that joined that network"):
//    keep your own per-network member lists from your own attach events, and
//    send with Node::send_user(address, payload) to a few random members of
//    that network per gossip round (Node::gossip_interval()); tick() is yours.
//  - bulk sync: local_state()/merge_remote_state() ride on push-pull
//    (periodic, random peer) and on join (join = true).
//  - "owner dead -> remove its entries after a grace period": notify_leave()
//    with the reason, then notify_join() if it comes back (compare boot_id to
//    know whether it restarted with empty state or just flapped).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/gossip/clock.h"
#include "control/gossip/member.h"
#include "control/gossip/transport.h"

namespace ferry::gossip {

class Delegate {
 public:
  virtual ~Delegate() = default;

  // --- dissemination -------------------------------------------------------
  // Fills `out` with user broadcasts to piggyback on an outgoing membership
  // packet. Each item costs item.size() + overhead_per_item bytes; the total
  // must stay within byte_budget. Called for every outgoing packet (probes,
  // acks, gossip rounds): return quickly when there is nothing to send.
  // The retransmit accounting is yours (BroadcastQueue does it).
  virtual void get_broadcasts(size_t overhead_per_item, size_t byte_budget, std::vector<std::string>& out) {
    (void)overhead_per_item, (void)byte_budget, (void)out;
  }
  // A user payload from node `from_name` (a piggybacked broadcast or a
  // Node::send_user() datagram). Untrusted beyond the cluster key: validate.
  virtual void notify_user_msg(std::string_view from_name, Bytes payload) { (void)from_name, (void)payload; }

  // --- anti-entropy (push-pull over the stream transport) -----------------
  // The user state to send with a push-pull; join = true on a join exchange.
  virtual std::string local_state(bool join) {
    (void)join;
    return {};
  }
  // The peer's user state from a push-pull (both directions).
  virtual void merge_remote_state(Bytes state, bool join) { (void)state, (void)join; }

  // --- user request/response over the stream transport --------------------
  // Node::user_request() on the other side arrives here; return the response.
  virtual std::string handle_user_request(std::string_view from_name, Bytes request) {
    (void)from_name, (void)request;
    return {};
  }
  virtual void notify_user_response(uint64_t request_id, const Result<std::string>& response) {
    (void)request_id, (void)response;
  }

  // --- membership events ---------------------------------------------------
  // A node became alive: new, or back after dead/left (info.boot_id tells
  // whether it restarted). Not called for the local node.
  virtual void notify_join(const MemberInfo& info) { (void)info; }
  // An alive node changed address or boot_id (restart faster than failure
  // detection) or incarnation; info is the new state.
  virtual void notify_update(const MemberInfo& info) { (void)info; }
  // A node left gracefully (info.state == kLeft) or was declared dead
  // (kDead). Suspicion is not reported: it is not a decision.
  virtual void notify_leave(const MemberInfo& info) { (void)info; }

  // --- timers of the user layer -------------------------------------------
  // Node::next_deadline() includes this; Node::tick() calls tick() when due.
  [[nodiscard]] virtual TimePoint next_deadline() const { return kNever; }
  virtual void tick(TimePoint now) { (void)now; }
};

}  // namespace ferry::gossip
