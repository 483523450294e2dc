// Sequence accounting for one received stream: in-order, gaps (missing),
// late arrivals that fill a gap (reordered) and duplicates, with a fixed
// window of recently seen sequence numbers (no allocation per packet).
//
// Definitions (all counts are packets):
//   received    every frame of the stream, duplicates included
//   missing     sequence numbers skipped and not (yet) filled by a late
//               arrival; counted from the first number seen, so what was
//               lost before the receiver started is not included
//   gaps        how many times a jump ahead opened a hole (one gap event may
//               hold many missing packets)
//   reordered   arrived after a higher sequence number, filled a hole
//   duplicates  a sequence number already seen within the window
//   too_old     older than the window: cannot tell late from duplicate
#pragma once

#include <array>
#include <cstdint>

#include "bench/gen/stamp.h"

namespace ferry::bench::gen {

struct SeqCounters {
  std::uint64_t received = 0;
  std::uint64_t missing = 0;
  std::uint64_t gaps = 0;
  std::uint64_t reordered = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t too_old = 0;

  SeqCounters& operator+=(const SeqCounters& other);
  bool operator==(const SeqCounters&) const = default;
};

class SeqTracker {
 public:
  static constexpr std::uint32_t kWindow = 1024;  // sequence numbers remembered behind the newest

  // Records a 32-bit wire sequence number, extended to 64 bits around the
  // newest seen (serial number arithmetic: within ±2^31 of it).
  void record(std::uint32_t wire_seq) { record64(extend(wire_seq)); }
  void record64(std::uint64_t seq);

  [[nodiscard]] std::uint64_t extend(std::uint32_t wire_seq) const;
  [[nodiscard]] const SeqCounters& counters() const { return counters_; }
  [[nodiscard]] bool started() const { return started_; }
  // One past the highest sequence number seen.
  [[nodiscard]] std::uint64_t next() const { return next_; }

 private:
  [[nodiscard]] bool seen(std::uint64_t seq) const { return (seen_[(seq % kWindow) / 64] >> (seq % 64)) & 1U; }
  void mark(std::uint64_t seq) { seen_[(seq % kWindow) / 64] |= std::uint64_t{1} << (seq % 64); }
  void clear(std::uint64_t seq) { seen_[(seq % kWindow) / 64] &= ~(std::uint64_t{1} << (seq % 64)); }

  bool started_ = false;
  std::uint64_t next_ = 0;
  std::array<std::uint64_t, kWindow / 64> seen_{};
  SeqCounters counters_;
};

// One tracker per stream id, indexed directly.
class StreamTable {
 public:
  void record(std::uint16_t stream, std::uint32_t wire_seq) { streams_[stream % kMaxStreams].record(wire_seq); }
  [[nodiscard]] SeqCounters total() const;
  [[nodiscard]] const SeqTracker& stream(std::uint16_t id) const { return streams_[id % kMaxStreams]; }

 private:
  std::array<SeqTracker, kMaxStreams> streams_{};
};

}  // namespace ferry::bench::gen
