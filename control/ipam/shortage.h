// Shortage: one pool's search for space, while allocations wait on this
// host. It asks one donor at a time (Allocator), picked at random weighted
// by the blocks each owns, or the host a refusing donor hinted at; after
// `max_attempts` refusals in a row (or when every reachable donor refused)
// the round ends and the next one starts retry_interval later. It keeps the
// refusals so a final failure can say why. A pool whose space is all this
// host's is full: the search ends at once (kFull) instead of waiting for
// space that does not exist. When other hosts own space, refusals cannot
// prove it is full (this host's map may be behind donations it has not heard
// of), so the search runs to its timeout; the error then says the pool is
// full if every owner, and every host they pointed at, said it had no free
// block (looks_full).
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
    kUnreachable,  // other hosts own space but none is reachable (a failure was recorded)
    kRoundOver,    // every candidate refused or the round's attempts are used up
    kFull,         // no other host owns space (full_message)
  };

  std::uint64_t request = 0;  // the donation request in flight (0: none)
  std::string asked;          // whom it went to
  std::uint32_t attempts = 0;
  std::set<std::string> refused;
  std::set<std::string> no_free_block;  // refused because they own no free block (this search)
  std::set<std::string> hinted;         // hosts those refusals pointed at (this search)
  std::vector<std::string> failures;
  gossip::TimePoint retry_at{};  // all reachable donors refused: ask again then
  std::string hint;              // a refusing donor's tip: ask this host next

  // `donor` refused or failed: not asked again this round; `why` goes into
  // the final error as "donor: why". `no_free`: the donor said it has no
  // free block at all (not a transient failure); `pointed`: the host it
  // pointed at instead ("" if none).
  void refuse(const std::string& donor, const std::string& why, bool no_free = false, const std::string& pointed = "");
  // Space arrived or nothing waits any more: a fresh history.
  void clear();
  // Starts a new round at `at`: refusals forgotten, nothing asked before.
  void end_round(gossip::TimePoint at);

  // Picks the next donor among `owner_counts` (owner -> blocks): not `self`,
  // reachable, not refused this round, weighted by blocks; the hint first
  // when it qualifies. Draws from `rng` only for a weighted pick. Consumes
  // the hint either way. kFull when no other host owns space.
  Choice choose_donor(const std::map<std::string, std::uint32_t>& owner_counts, const std::string& self,
                      const std::function<bool(const std::string&)>& alive, std::uint32_t max_attempts,
                      gossip::Rng& rng, std::string& donor);

  // The error of allocations that found no space: the pool and the latest
  // refusals; "no host reachable to donate space" when that is why.
  [[nodiscard]] std::string exhausted_message(const PoolSpec& spec) const;
  // Every other owner in `owner_counts`, and every host the refusals pointed
  // at, said it has no free block during this search.
  [[nodiscard]] bool looks_full(const std::map<std::string, std::uint32_t>& owner_counts,
                                const std::string& self) const;
  // The error of allocations in a full pool: "no free address in CIDR",
  // naming the other owners that have none free.
  [[nodiscard]] std::string full_message(const PoolSpec& spec) const;

 private:
  bool unreachable_ = false;  // the last choice found no reachable owner
};

}  // namespace ferry::ipam
