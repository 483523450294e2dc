#include "control/gossip/config.h"

namespace ferry::gossip {

Result<void> Config::validate() const {
  if (probe_interval.count() <= 0) return make_error("gossip config: probe_interval must be > 0");
  if (probe_timeout.count() <= 0 || probe_timeout >= probe_interval) {
    return make_error("gossip config: probe_timeout ({} ms) must be > 0 and < probe_interval ({} ms)",
                      probe_timeout.count(), probe_interval.count());
  }
  if (suspicion_mult < 1) return make_error("gossip config: suspicion_mult must be >= 1");
  if (suspicion_max_timeout_mult < 1) return make_error("gossip config: suspicion_max_timeout_mult must be >= 1");
  if (awareness_max_multiplier < 1) return make_error("gossip config: awareness_max_multiplier must be >= 1");
  if (retransmit_mult < 1) return make_error("gossip config: retransmit_mult must be >= 1");
  if (gossip_interval.count() <= 0) return make_error("gossip config: gossip_interval must be > 0");
  if (gossip_nodes < 1) return make_error("gossip config: gossip_nodes must be >= 1");
  if (max_packet_size < 256 || max_packet_size > 65000) {
    return make_error("gossip config: max_packet_size {} outside [256, 65000] bytes", max_packet_size);
  }
  if (push_pull_interval.count() < 0 || reconnect_interval.count() < 0) {
    return make_error("gossip config: push_pull_interval and reconnect_interval must be >= 0 (0 disables)");
  }
  if (join_retry_interval.count() <= 0) return make_error("gossip config: join_retry_interval must be > 0");
  if (stream_timeout.count() <= 0) return make_error("gossip config: stream_timeout must be > 0");
  if (dead_reclaim_time.count() <= 0) return make_error("gossip config: dead_reclaim_time must be > 0");
  if (max_stream_size < max_packet_size) return make_error("gossip config: max_stream_size must be >= max_packet_size");
  return ok();
}

}  // namespace ferry::gossip
