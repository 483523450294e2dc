// IPAM counters: one X-macro list gives the enum, the names and the help text.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace ferry::ipam {

#define FERRY_IPAM_COUNTERS(X)                                                                    \
  X(allocated, "addresses allocated")                                                             \
  X(released, "addresses released")                                                               \
  X(allocate_failed, "allocations refused (exhausted, fenced, in use, timeout)")                  \
  X(donations_asked, "donation requests sent")                                                    \
  X(donations_received, "donations received (blocks arrived)")                                    \
  X(blocks_received, "blocks received by donation")                                               \
  X(donations_given, "donation requests answered with space")                                     \
  X(blocks_given, "blocks given away")                                                            \
  X(hand_overs, "graceful hand-overs of this host's free space (hand_over)")                      \
  X(blocks_handed_over, "blocks given away by hand-over")                                         \
  X(donations_refused, "donation requests answered without space (either side)")                  \
  X(donations_failed, "donation requests that failed in transport (timeout, unreachable)")        \
  X(records_rx, "ownership records received (gossip, push-pull, donation)")                       \
  X(records_applied, "received records that were newer and stored")                               \
  X(malformed, "messages that failed to decode (dropped, no state change)")                       \
  X(bad_range, "messages with blocks outside the pool, overlapping or unsorted runs (dropped)")   \
  X(pool_mismatch, "messages naming a pool with a different definition (dropped)")                \
  X(forged, "messages taking this host's blocks without its say (dropped, blocks reasserted)")    \
  X(reasserted, "own blocks rewritten at a higher version after a forged record")                 \
  X(blocks_reclaimed, "blocks this host took over as heir of a dead owner")                       \
  X(blocks_lost, "own blocks taken by another host's reclaim (conflicting allocations reported)") \
  X(conflicts, "allocations found in space this host no longer owns")                             \
  X(fenced_refusals, "allocations or donations refused while fenced (no quorum)")                 \
  X(syncs, "anti-entropy digest exchanges started")                                               \
  X(syncs_repaired, "anti-entropy exchanges that found differing maps")                           \
  X(persist_failed, "state writes that failed (the change was rolled back where it was ours)")

enum class Counter : std::size_t {
#define FERRY_X(name, help) name,
  FERRY_IPAM_COUNTERS(FERRY_X)
#undef FERRY_X
      kCount
};

inline constexpr std::size_t kNumCounters = static_cast<std::size_t>(Counter::kCount);

const char* counter_name(Counter c);
const char* counter_help(Counter c);

using Counters = std::array<std::uint64_t, kNumCounters>;

}  // namespace ferry::ipam
