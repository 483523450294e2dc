// LogLimiter: one log line per reason per interval, for events that can come
// in floods (datagrams that fail authentication, connections evicted by a
// flood). The first event of a quiet reason is reported at once; the ones
// after it are counted and reported together, with the last source seen,
// once the interval has passed since the previous line: by the next event
// of that reason, or by flush() (which the owner calls from its timer or poll
// loop so a flood that stopped is still accounted for). 10 000 events in a
// burst make two lines.
//
// Time comes from the caller (the gossip Clock): deterministic under a
// ManualClock. Not thread-safe: one per owner thread. No allocation per
// event.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "control/gossip/address.h"
#include "control/gossip/clock.h"

namespace ferry::gossip {

class LogLimiter {
 public:
  struct Report {
    size_t reason = 0;
    uint64_t count = 0;   // events since the previous report of this reason
    Address last_source;  // of the latest of them
    Duration span{};      // since the previous report (0 for a first one)
    bool first = false;   // a single event after a quiet interval
  };

  // `reasons`: reasons are 0 .. reasons-1. `interval` > 0.
  LogLimiter(size_t reasons, Duration interval);

  // Records one event; returns the report to log now, if one is due.
  std::optional<Report> note(size_t reason, const Address& source, TimePoint now);
  // Appends the reports due at `now` (reasons with unreported events whose
  // interval has passed), in reason order.
  void flush(TimePoint now, std::vector<Report>& out);
  // When flush() next has something to report; kNever when nothing waits.
  [[nodiscard]] TimePoint next_flush() const;

  // Every event of `reason` ever noted, reported or not.
  [[nodiscard]] uint64_t total(size_t reason) const { return slots_.at(reason).total; }
  [[nodiscard]] Duration interval() const { return interval_; }

 private:
  struct Slot {
    uint64_t pending = 0;
    uint64_t total = 0;
    Address last_source;
    std::optional<TimePoint> last_report;
  };
  Report take(size_t reason, TimePoint now, bool first);

  Duration interval_;
  std::vector<Slot> slots_;
};

}  // namespace ferry::gossip
