// The super-frame rows of `ferry-bench pipeline` (also `ferry-bench
// superframe` on their own): software segmentation and coalescing of a 64 KB
// TCP super-frame, and the checksum they are built on, from memory on one
// core. See docs/dataplane-offload.md, "Cost".
#pragma once

#include <string>
#include <vector>

struct rte_mempool;

namespace ferry::bench {

struct SuperframeResult {
  std::string op;       // segment / coalesce / checksum
  std::string variant;  // what differs between rows of one op
  unsigned frame_bytes;
  unsigned segments;        // segments per super-frame (0 for checksum)
  double ns_per_frame;      // per super-frame (or per 64 KB summed), thread CPU time
  double gbit_per_s;        // TCP payload bits per second of CPU time
  double cycles_per_frame;  // the same CPU time in TSC cycles
};

// Runs every case for about `seconds` each. Needs EAL; allocates its own pools.
std::vector<SuperframeResult> run_superframe_cases(double seconds, std::string& error);

void print_superframe_table(const std::vector<SuperframeResult>& results);
// The rows as a JSON array (no trailing newline).
std::string superframe_json(const std::vector<SuperframeResult>& results);

}  // namespace ferry::bench
