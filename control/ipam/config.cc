#include "control/ipam/config.h"

namespace ferry::ipam {

Result<void> Config::validate() const {
  if (max_blocks < 1 || (max_blocks & (max_blocks - 1)) != 0 || max_blocks > (1U << 20)) {
    return make_error("ipam config: max_blocks {} must be a power of two in [1, 2^20]", max_blocks);
  }
  if (max_wire_blocks < max_blocks || max_wire_blocks > (1U << 20)) {
    return make_error("ipam config: max_wire_blocks {} must be in [max_blocks, 2^20]", max_wire_blocks);
  }
  if (!(donate_fraction > 0.0 && donate_fraction <= 1.0)) {
    return make_error("ipam config: donate_fraction {} must be in (0, 1]", donate_fraction);
  }
  if (allocate_timeout.count() <= 0) return make_error("ipam config: allocate_timeout must be > 0");
  if (donation_attempts < 1) return make_error("ipam config: donation_attempts must be >= 1");
  if (reclaim_after.count() < 0 || fence_after.count() < 0 || reclaim_settle.count() < 0) {
    return make_error("ipam config: reclaim_after, fence_after and reclaim_settle must be >= 0");
  }
  if (reclaim_after.count() > 0) {
    if (fence_after.count() == 0) {
      return make_error(
          "ipam config: reclaim_after needs fence_after > 0 (a cut-off host must stop allocating "
          "before the others take its space)");
    }
    if (fence_after >= reclaim_after) {
      return make_error("ipam config: fence_after ({} ms) must be < reclaim_after ({} ms)", fence_after.count(),
                        reclaim_after.count());
    }
  }
  if (relay_interval.count() <= 0) return make_error("ipam config: relay_interval must be > 0");
  if (!(relay_share > 0.0 && relay_share <= 1.0)) {
    return make_error("ipam config: relay_share {} must be in (0, 1]", relay_share);
  }
  if (sync_interval.count() < 0) return make_error("ipam config: sync_interval must be >= 0 (0 disables)");
  if (retry_interval.count() <= 0) return make_error("ipam config: retry_interval must be > 0");
  if (check_interval.count() <= 0) return make_error("ipam config: check_interval must be > 0");
  if (max_name_size < 1 || max_name_size > 1024) {
    return make_error("ipam config: max_name_size {} must be in [1, 1024]", max_name_size);
  }
  return ok();
}

}  // namespace ferry::ipam
