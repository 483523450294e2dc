// Config of the distributed IPAM (docs/ipam.md): one struct, every field with
// its unit and why, checked by validate().
#pragma once

#include <chrono>
#include <cstdint>

#include "common/result.h"

namespace ferry::ipam {

struct Config {
  // A pool is cut into at most this many equal blocks (a power of two number
  // of addresses each, at least 1): the unit of ownership and donation. A
  // /16 gets 16-address blocks, a /20 or smaller one address per block. The
  // full ownership map is at most this many records (a few KB on the wire,
  // run-length encoded).
  std::uint32_t max_blocks = 4096;
  // A pool definition from a peer may have at most this many blocks (its
  // max_blocks may differ from ours: the first definition of a pool wins).
  // Each block costs this host ~100 bytes of map, so this bounds what one
  // message can make it allocate. >= max_blocks, <= 2^20.
  std::uint32_t max_wire_blocks = 1U << 20;

  // A donor gives this share of its fully free blocks (at least one), taking
  // them from the top of its space so its own allocations stay packed low.
  // Weave Net gives half; so do we.
  double donate_fraction = 0.5;

  // An allocation that needs a donation fails after this long (ms), whatever
  // the state of the requests in flight.
  std::chrono::milliseconds allocate_timeout{10'000};
  // A shortage asks at most this many donors in a row (chosen at random,
  // weighted by the blocks they own); when all refuse, the next round starts
  // retry_interval later (space moves while donations spread), until
  // allocate_timeout.
  std::uint32_t donation_attempts = 4;
  // Wait between two rounds of donation requests (ms): a few gossip
  // intervals, time for the latest donations to be heard of.
  std::chrono::milliseconds retry_interval{300};

  // An owner that every member of a quorum has seen dead (or left, or
  // forgotten) for this long loses its space to an heir. 0 disables
  // automatic reclaim (space of a dead host is then lost until it returns).
  // Must exceed the longest partition you expect a host to survive alone
  // plus fence_after's margin. ms.
  std::chrono::milliseconds reclaim_after{30 * 60 * 1000};
  // A host that has not seen a majority of the cluster alive for this long
  // stops allocating new addresses and donating (it is "fenced"): past
  // reclaim_after the majority may reclaim its space. Must be < reclaim_after
  // by more than the failure-detection time (seconds). 0 disables fencing,
  // which is only safe with reclaim disabled. ms.
  std::chrono::milliseconds fence_after{20 * 60 * 1000};
  // A reclaimed block is not used by its heir until this long after the heir
  // took it (ms), so that a concurrent reclaim by another would-be heir (its
  // view of who is dead differed) is seen and the tie settled first. Several
  // gossip convergence times.
  std::chrono::milliseconds reclaim_settle{30'000};
  // Records learned from others are passed on in batches, one per pool,
  // every relay_interval (ms): a storm of donations becomes a few ~1 KB
  // broadcasts instead of one per record.
  std::chrono::milliseconds relay_interval{100};
  // Relayed records are sent this share of the node's retransmit limit
  // (at least 2); records a host wrote itself get the full limit. Stale
  // views only cost a refused donation; push-pull repairs them.
  double relay_share = 0.5;

  // Anti-entropy: about this often (jittered 0.5x..1.5x) a host compares the
  // digests of its maps with one owner of space and the two exchange the
  // maps that differ (a few KB; nothing when in sync). Push-pull does the
  // same far less often at scale. 0 disables. ms.
  std::chrono::milliseconds sync_interval{2'000};

  // How often ownership, liveness and pending work are re-checked. ms.
  std::chrono::milliseconds check_interval{1'000};

  // Longest pool name and allocation handle accepted (bytes).
  std::size_t max_name_size = 128;

  [[nodiscard]] Result<void> validate() const;
};

}  // namespace ferry::ipam
