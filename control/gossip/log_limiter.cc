#include "control/gossip/log_limiter.h"

#include <algorithm>

namespace ferry::gossip {

LogLimiter::LogLimiter(size_t reasons, Duration interval)
    : interval_(std::max(interval, Duration(1))), slots_(reasons) {}

LogLimiter::Report LogLimiter::take(size_t reason, TimePoint now, bool first) {
  Slot& s = slots_[reason];
  Report r;
  r.reason = reason;
  r.count = s.pending;
  r.last_source = s.last_source;
  r.first = first;
  r.span = first || !s.last_report ? Duration{} : now - *s.last_report;
  s.pending = 0;
  s.last_report = now;
  return r;
}

std::optional<LogLimiter::Report> LogLimiter::note(size_t reason, const Address& source, TimePoint now) {
  Slot& s = slots_.at(reason);
  ++s.pending;
  ++s.total;
  s.last_source = source;
  if (s.last_report && now - *s.last_report < interval_) return std::nullopt;
  // Quiet for an interval: this event alone, unless flush() was not called
  // and earlier ones are still waiting (then they go with it).
  return take(reason, now, s.pending == 1);
}

void LogLimiter::flush(TimePoint now, std::vector<Report>& out) {
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if (s.pending > 0 && s.last_report && now - *s.last_report >= interval_) out.push_back(take(i, now, false));
  }
}

TimePoint LogLimiter::next_flush() const {
  TimePoint t = kNever;
  for (const Slot& s : slots_) {
    if (s.pending > 0 && s.last_report) t = std::min(t, *s.last_report + interval_);
  }
  return t;
}

}  // namespace ferry::gossip
