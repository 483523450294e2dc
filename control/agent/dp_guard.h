// What keeps the data plane right between the agent's reconcile passes, run
// from the agent's loop (one tick() per turn):
//  - after a (re)start the reconciler holds removals (it adds and replaces,
//    removes nothing) until the gossip view has synced with a live member,
//    or --dataplane-hold-ms has passed; then it sends the whole difference;
//  - every --audit-ms, a drift audit (Reconciler::audit).
// Its own class so the loop that drives it needs one call, whatever shape
// the loop has.
#pragma once

#include <chrono>
#include <functional>

#include "control/agent/reconciler.h"
#include "control/gossip/clock.h"

namespace ferry::gossip {
class Node;
class TableDb;
}  // namespace ferry::gossip

namespace ferry::agent {

// True once a gossip view has synced with a live member: a push-pull done
// (either way), another member alive, and no table sync still out.
[[nodiscard]] bool gossip_view_synced(const gossip::Node& node, const gossip::TableDb& tables);

class DataplaneGuard {
 public:
  // Starts the hold at `now` (none when `hold` is 0) and schedules the first
  // audit one `audit_interval` later (none when it is 0).
  DataplaneGuard(ReconcilerControl& reconciler, std::chrono::milliseconds hold,
                 std::chrono::milliseconds audit_interval, gossip::TimePoint now);

  // Ends the hold once `synced()` says so or its time is up (logged either
  // way), and audits when an audit is due. `synced` is asked only while the
  // hold lasts.
  void tick(gossip::TimePoint now, const std::function<bool()>& synced);

 private:
  ReconcilerControl& reconciler_;
  std::chrono::milliseconds hold_;
  std::chrono::milliseconds audit_interval_;
  gossip::TimePoint hold_until_;
  gossip::TimePoint next_audit_;
};

}  // namespace ferry::agent
