// What a generator run measured, and its two renderings: a table for people
// and one JSON object for scripts (keys documented in
// docs/traffic-generator.md).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "bench/gen/config.h"
#include "bench/gen/histogram.h"
#include "bench/gen/seq_tracker.h"

namespace ferry::bench::gen {

struct TxStats {
  std::uint64_t packets = 0;           // accepted by the port
  std::uint64_t bytes = 0;             // frame bytes including FCS
  std::uint64_t ring_full = 0;         // tx_burst calls that took fewer than offered (retried)
  std::uint64_t alloc_failures = 0;    // bursts skipped because the TX pool was empty
  std::uint64_t schedule_skipped = 0;  // paced packets given up after a stall
  double seconds = 0.0;                // first to last burst
};

struct RxStats {
  std::uint64_t packets = 0;  // ours, duplicates included (= seq.received)
  std::uint64_t bytes = 0;
  std::uint64_t foreign = 0;         // frames that carry no stamp of ours (counted as drops)
  std::uint64_t encapsulated = 0;    // ours, found inside VXLAN
  std::uint64_t bad_timestamps = 0;  // stamp from the future: not our clock, no latency sample
  SeqCounters seq;
  double seconds = 0.0;  // first to last frame of ours
};

struct Report {
  GenConfig config;
  std::string tx_port;
  std::string rx_port;
  std::uint64_t tsc_hz = 1;
  bool interrupted = false;  // SIGINT/SIGTERM cut the run short
  TxStats tx;
  RxStats rx;
  Histogram latency;  // TSC cycles

  // Sent but never received (txrx only: one process knows both counts).
  [[nodiscard]] std::uint64_t lost() const;
  [[nodiscard]] double cycles_to_ns(std::uint64_t cycles) const {
    return static_cast<double>(cycles) * 1e9 / static_cast<double>(tsc_hz);
  }
};

nlohmann::json report_json(const Report& report);
std::string report_table(const Report& report);

}  // namespace ferry::bench::gen
