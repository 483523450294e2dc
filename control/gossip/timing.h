// The pure maths of the protocol: timeouts, retransmit limits, scaling.
// No state, no clock: table-tested in tests/control/timing_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>

#include "control/gossip/clock.h"

namespace ferry::gossip {

// Lifeguard suspicion minimum: mult * max(1, log10(n)) * interval.
Duration suspicion_min_timeout(uint32_t suspicion_mult, size_t n, Duration probe_interval);

// Remaining-confirmation scaling: max - (max - min) * log(c + 1) / log(k + 1),
// never below min; k <= 0 gives min.
Duration suspicion_timeout(Duration min, Duration max, uint32_t confirmations, uint32_t k);

// How many times one broadcast is sent: mult * ceil(log10(n + 1)).
uint32_t retransmit_limit(uint32_t retransmit_mult, size_t n);

// Local health awareness: d * (score + 1).
Duration awareness_scale(Duration d, uint32_t health_score);

// Push-pull interval multiplier: 1 up to 32 nodes, then ceil(log2(n) - log2(32)) + 1.
uint32_t push_pull_scale(size_t n);

}  // namespace ferry::gossip
