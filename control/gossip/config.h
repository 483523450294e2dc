// Config: every knob of the membership layer, with its unit and formula.
// Defaults are the LAN preset (docs/gossip.md explains the choices); presets
// change only what differs.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "common/result.h"

namespace ferry::gossip {

using std::chrono::milliseconds;

struct Config {
  // --- failure detection (SWIM) ---
  // One member probed per interval, scaled by local health:
  // effective = probe_interval * (health_score + 1).
  milliseconds probe_interval{200};
  // Wait for a direct ack before asking indirect_checks helpers; also scaled
  // by (health_score + 1). Must be < probe_interval.
  milliseconds probe_timeout{100};
  // Helpers asked to probe a target that missed its direct ack (k in SWIM).
  uint32_t indirect_checks = 3;

  // --- suspicion (Lifeguard) ---
  // min = suspicion_mult * max(1, log10(N)) * probe_interval;
  // max = suspicion_max_timeout_mult * min; a suspicion starts at max and
  // shrinks to min as confirmations from k = suspicion_mult - 2 distinct
  // other suspectors arrive: max - (max - min) * log(c + 1) / log(k + 1).
  uint32_t suspicion_mult = 4;
  uint32_t suspicion_max_timeout_mult = 6;

  // --- local health awareness (Lifeguard) ---
  // Health score in [0, awareness_max_multiplier - 1]; +1 per missed nack or
  // failed probe without helpers, +1 when this node must refute a suspicion,
  // +1 when its probe timer fires more than probe_timeout late (starved
  // process), -1 per successful probe.
  uint32_t awareness_max_multiplier = 8;

  // --- dissemination ---
  // A broadcast is sent retransmit_mult * ceil(log10(N + 1)) times by every
  // node that learns it (5: 15 sends per node at N = 100, so a given node
  // misses an update with probability ~e^-15; memberlist uses 4).
  uint32_t retransmit_mult = 5;
  // Every gossip_interval, pending broadcasts go to gossip_nodes random
  // members (alive, suspect, or dead for less than gossip_to_the_dead).
  milliseconds gossip_interval{100};
  uint32_t gossip_nodes = 3;
  milliseconds gossip_to_the_dead{10000};
  // Plaintext payload bytes of one datagram (compound message), before the
  // transport's AEAD overhead: fits a 1500-byte MTU with IP/UDP/crypto room.
  size_t max_packet_size = 1400;

  // --- anti-entropy (push-pull over streams) ---
  // Full-state exchange with one random alive member every
  // push_pull_interval * push_pull_scale(N) (x1 up to 32 nodes, then
  // +1 per doubling). 0 disables.
  milliseconds push_pull_interval{30000};
  // Every reconnect_interval, a push-pull with one random dead (not left)
  // member: heals partitions. 0 disables.
  milliseconds reconnect_interval{10000};
  // Dead and left members are forgotten after this long.
  milliseconds dead_reclaim_time{30 * 60 * 1000};

  // --- join ---
  // Retry period while no seed answered; join_max_attempts 0 = forever.
  milliseconds join_retry_interval{1000};
  uint32_t join_max_attempts = 0;

  // --- stream transport ---
  // A stream exchange (connect + request + response) fails after this.
  milliseconds stream_timeout{5000};
  // Largest stream frame accepted (push-pull state of ~10^5 members).
  size_t max_stream_size = 16u << 20;

  [[nodiscard]] Result<void> validate() const;

  // Presets: LAN is the default constructor.
  static Config lan() { return Config{}; }
  // Loopback/namespace tests with real sockets: LAN timers.
  static Config local() { return Config{}; }
};

}  // namespace ferry::gossip
