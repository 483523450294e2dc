#include "control/agent/dp_guard.h"

#include <spdlog/spdlog.h>

#include "control/gossip/node.h"
#include "control/gossip/table_db.h"

namespace ferry::agent {

bool gossip_view_synced(const gossip::Node& node, const gossip::TableDb& tables) {
  const auto& c = node.counters();
  const bool exchanged = c[gossip::Counter::push_pull_ok] > 0 || c[gossip::Counter::stream_rx] > 0;
  return exchanged && node.num_alive() > 1 && tables.syncs_in_flight() == 0;
}

DataplaneGuard::DataplaneGuard(ReconcilerControl& reconciler, std::chrono::milliseconds hold,
                               std::chrono::milliseconds audit_interval, gossip::TimePoint now)
    : reconciler_(reconciler),
      hold_(hold),
      audit_interval_(audit_interval),
      hold_until_(now + hold),
      next_audit_(now + audit_interval) {
  reconciler_.set_hold_removals(hold.count() > 0);
}

void DataplaneGuard::tick(gossip::TimePoint now, const std::function<bool()>& synced) {
  if (reconciler_.status().holding_removals) {
    const bool done = synced();
    if (done || now >= hold_until_) {
      if (done) {
        spdlog::info("gossip view synced: data-plane entries it no longer wants are removed now");
      } else {
        spdlog::warn(
            "gossip view not synced within {} ms (no live member answered): data-plane entries it does not "
            "want are removed now",
            hold_.count());
      }
      reconciler_.set_hold_removals(false);
      reconciler_.run_known();
    }
  }
  if (audit_interval_.count() > 0 && now >= next_audit_) {
    next_audit_ = now + audit_interval_;
    reconciler_.audit();
  }
}

}  // namespace ferry::agent
