#include "bench/gen/seq_tracker.h"

namespace ferry::bench::gen {

SeqCounters& SeqCounters::operator+=(const SeqCounters& other) {
  received += other.received;
  missing += other.missing;
  gaps += other.gaps;
  reordered += other.reordered;
  duplicates += other.duplicates;
  too_old += other.too_old;
  return *this;
}

std::uint64_t SeqTracker::extend(std::uint32_t wire_seq) const {
  if (!started_) return wire_seq;
  const std::uint64_t newest = next_ - 1;
  const auto delta = static_cast<std::int32_t>(wire_seq - static_cast<std::uint32_t>(newest));
  if (delta < 0 && static_cast<std::uint64_t>(-static_cast<std::int64_t>(delta)) > newest) return wire_seq;
  return newest + static_cast<std::uint64_t>(static_cast<std::int64_t>(delta));
}

void SeqTracker::record64(std::uint64_t seq) {
  ++counters_.received;
  if (!started_) {
    started_ = true;
    next_ = seq + 1;
    mark(seq);
    return;
  }
  if (seq >= next_) {
    const std::uint64_t skipped = seq - next_;
    if (skipped > 0) {
      counters_.missing += skipped;
      ++counters_.gaps;
    }
    // The slots for next_..seq now stand for new numbers: forget old marks.
    if (skipped + 1 >= kWindow) {
      seen_.fill(0);
    } else {
      for (std::uint64_t s = next_; s < seq; ++s) clear(s);
      clear(seq);
    }
    mark(seq);
    next_ = seq + 1;
    return;
  }
  if (next_ - seq > kWindow) {
    ++counters_.too_old;
    return;
  }
  if (seen(seq)) {
    ++counters_.duplicates;
    return;
  }
  mark(seq);
  ++counters_.reordered;
  if (counters_.missing > 0) --counters_.missing;
}

SeqCounters StreamTable::total() const {
  SeqCounters sum;
  for (const auto& s : streams_) sum += s.counters();
  return sum;
}

}  // namespace ferry::bench::gen
