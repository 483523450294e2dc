#include "control/gossip/partition_watch.h"

#include <algorithm>

namespace ferry::gossip {

size_t PartitionWatch::threshold(size_t others) { return std::max<size_t>(2, (others + 9) / 10); }

std::optional<PartitionWatch::Event> PartitionWatch::on_change(NameId id, std::optional<MemberState> before,
                                                               std::optional<MemberState> after, TimePoint now) {
  const auto counted = [](std::optional<MemberState> s) { return s && *s != MemberState::kLeft; };
  if (counted(before)) --others_;
  if (counted(after)) ++others_;
  if (after == MemberState::kSuspect) {
    suspects_.insert(id);
  } else {
    suspects_.erase(id);
  }

  if (!active_) {
    if (suspects_.size() < threshold(others_)) return std::nullopt;
    active_ = true;
    down_ = suspects_;
    back_ = 0;
    gone_ = 0;
    started_ = now;
    return Event{Event::Kind::kStarted, down_.size(), others_, 0, 0, Duration{}};
  }
  if (after == MemberState::kSuspect) {
    down_.insert(id);
  } else if (after == MemberState::kAlive) {
    back_ += down_.erase(id);
  } else if (!after || after == MemberState::kLeft) {
    gone_ += down_.erase(id);
  }
  if (down_.size() * 2 > threshold(others_)) return std::nullopt;
  active_ = false;
  Event over{Event::Kind::kOver, down_.size(), others_, back_, gone_, now - started_};
  down_.clear();
  return over;
}

std::vector<NameId> PartitionWatch::unreachable() const { return {down_.begin(), down_.end()}; }

}  // namespace ferry::gossip
