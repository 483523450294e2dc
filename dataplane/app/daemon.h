// ferry-dataplane put together: start-up checks that name what is wrong,
// EAL, ports, pipeline, workers, the API socket; then the control loop (API
// requests, slow-path ARP, underlay resolution, RCU reclamation) until asked
// to stop; then an orderly shutdown (ports stopped, socket removed).
#pragma once

#include <atomic>
#include <memory>

#include "common/result.h"
#include "dataplane/app/config.h"

namespace ferry::dataplane::app {

// Checks what can be checked before EAL starts: the uplink exists, the API
// path is free or stale, hugepages are there (unless --no-huge).
Result<void> preflight(const Config& config);

// Free hugepages of any size (sysfs), and whether hugetlbfs is mounted.
struct HugepageState {
  std::uint64_t free_pages = 0;
  bool mounted = false;
};
HugepageState hugepage_state();

class Daemon {
 public:
  static Result<std::unique_ptr<Daemon>> start(const Config& config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // The control loop; returns when `stop` becomes true (0) or on a fatal error (1).
  int run(const std::atomic<bool>& stop);

 private:
  struct Impl;
  explicit Daemon(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::dataplane::app
