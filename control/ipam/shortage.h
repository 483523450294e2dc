// Shortage: one pool's search for space, while allocations wait on this
// host. It asks one donor at a time (Allocator), picked at random weighted
// by the blocks each owns, or the host a refusing donor hinted at; after
// `max_attempts` refusals in a row (or when every reachable donor refused)
// the round ends and the next one starts retry_interval later. It keeps the
// refusals so a final failure can say why.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "control/gossip/clock.h"
#include "control/gossip/rng.h"
#include "control/ipam/pool.h"

namespace ferry::ipam {

struct Shortage {
  // What choose_donor() decided.
  enum class Choice : std::uint8_t {
    kAsk,          // ask `donor`
    kUnreachable,  // no other owner of space is reachable (a failure was recorded)
    kRoundOver,    // every candidate refused or the round's attempts are used up
  };

  std::uint64_t request = 0;  // the donation request in flight (0: none)
  std::string asked;          // whom it went to
  std::uint32_t attempts = 0;
  std::set<std::string> refused;
  std::vector<std::string> failures;
  gossip::TimePoint retry_at{};  // all reachable donors refused: ask again then
  std::string hint;              // a refusing donor's tip: ask this host next

  // `donor` refused or failed: not asked again this round; `why` goes into
  // the final error as "donor: why".
  void refuse(const std::string& donor, const std::string& why);
  // Space arrived or nothing waits any more: a fresh history.
  void clear();
  // Starts a new round at `at`: refusals forgotten, nothing asked before.
  void end_round(gossip::TimePoint at);

  // Picks the next donor among `owner_counts` (owner -> blocks): not `self`,
  // reachable, not refused this round, weighted by blocks; the hint first
  // when it qualifies. Draws from `rng` only for a weighted pick. Consumes
  // the hint either way.
  Choice choose_donor(const std::map<std::string, std::uint32_t>& owner_counts, const std::string& self,
                      const std::function<bool(const std::string&)>& alive, std::uint32_t max_attempts,
                      gossip::Rng& rng, std::string& donor);

  // The error of allocations that found no space: the pool and the latest
  // refusals.
  [[nodiscard]] std::string exhausted_message(const PoolSpec& spec) const;
};

}  // namespace ferry::ipam
