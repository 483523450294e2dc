// VtepLiveness: whether a dead agent's host still forwards, from the data
// plane's VTEP echo (dataplane/core/vtep_echo.h, `vtep_status`). A host
// whose agent is dead (or left) but whose data plane answers the echo keeps
// its endpoints in the peers' data planes, and its addresses in IPAM:
//  - keep(owner): the tables' keep_owner hook (TableDb::set_keep_owner):
//    true while one of the owner's VTEPs answered within alive_intervals
//    echo intervals, for at most keep_max from the first time it was asked;
//  - hold_reclaim(owner): IPAM's hook (Allocator::set_hold_reclaim): true
//    while the owner's VTEP answers (no bound: its containers still hold the
//    addresses, and handing them to an heir would make duplicates).
// Without a recent vtep_status reply (our own data plane down or silent)
// nothing is alive here: the owner is purged as without this.
//
// Pure logic with the time passed in; the agent feeds it the data plane's
// replies and the owners' VTEPs (from their endpoint records).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "control/gossip/clock.h"
#include "dataplane/api/reply.h"

namespace ferry::agent {

struct VtepLivenessConfig {
  // An owner's VTEP counts as alive while its last echo reply is at most
  // this many of the data plane's echo intervals old.
  std::uint32_t alive_intervals = 3;
  // The longest a dead owner's entries are kept after its purge was due
  // (the IPAM reclaim period by default). 0: never kept.
  std::chrono::milliseconds keep_max{30 * 60 * 1000};
};

class VtepLiveness {
 public:
  explicit VtepLiveness(VtepLivenessConfig config) : config_(config) {}

  // A vtep_status reply that arrived at `now`.
  void on_status(const dp_api::VtepStatus& status, gossip::TimePoint now);
  // Every owner's VTEPs (from the endpoints it published).
  void set_owner_vteps(std::map<std::string, std::set<dp_api::Ipv4>> vteps) { owner_vteps_ = std::move(vteps); }

  // When `vtep` last answered, if ever (as of the latest reply).
  [[nodiscard]] std::optional<gossip::TimePoint> last_heard(dp_api::Ipv4 vtep) const;
  // One of `owner`'s VTEPs answered within alive_intervals intervals of `now`.
  [[nodiscard]] bool owner_answers(const std::string& owner, gossip::TimePoint now) const;

  // The tables' hook (see above). Logs at info when it stops keeping.
  bool keep(const std::string& owner, gossip::TimePoint now);
  // IPAM's hook.
  [[nodiscard]] bool hold_reclaim(const std::string& owner, gossip::TimePoint now) const {
    return owner_answers(owner, now);
  }
  // A keep() asked again after this long is a new death (the owner came
  // back in between: the tables stop asking while it is alive).
  static constexpr std::chrono::seconds kNewDeathAfter{10};

 private:
  VtepLivenessConfig config_;
  std::chrono::milliseconds interval_{0};  // the data plane's echo interval (0: no echo)
  std::map<dp_api::Ipv4, gossip::TimePoint> heard_;
  std::map<std::string, std::set<dp_api::Ipv4>> owner_vteps_;
  struct Kept {
    gossip::TimePoint since;
    gossip::TimePoint asked;
  };
  std::map<std::string, Kept> kept_;
};

}  // namespace ferry::agent
