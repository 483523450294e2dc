// PartitionWatch: notices when many members become unreachable together (a
// network partition, or several hosts failing at once) and when that is
// over, from the state changes a node makes to its member list. One member
// failing is a host failure and is not reported here; the node logs it as a
// member event.
//
// An episode starts when at least threshold(others) members are suspect at
// the same time (others: members known and not left, this node excluded).
// From then on every member that becomes suspect joins the episode; one
// that comes back alive ("back") or is forgotten or leaves ("gone") is out of
// it; a dead one stays in. The episode is over once at most threshold / 2 of
// its members are still unreachable (hysteresis: one flapping member does
// not start and end episodes). Pure state: the node logs the events.
#pragma once

#include <cstddef>
#include <optional>
#include <unordered_set>
#include <vector>

#include "control/gossip/clock.h"
#include "control/gossip/member.h"
#include "control/gossip/names.h"

namespace ferry::gossip {

class PartitionWatch {
 public:
  struct Event {
    enum class Kind : uint8_t { kStarted, kOver };
    Kind kind = Kind::kStarted;
    size_t unreachable = 0;  // episode members still suspect or dead
    size_t others = 0;       // members known, not left, this node excluded
    size_t back = 0;         // kOver: episode members alive again
    size_t gone = 0;         // kOver: episode members forgotten or left
    Duration lasted{};       // kOver: since the episode started
  };

  // max(2, ceil(others / 10)): suspects at once that make an episode.
  static size_t threshold(size_t others);

  // A member other than this node changed state: `before` nullopt for a
  // member just added, `after` nullopt for one forgotten. Returns an event
  // when an episode starts or ends.
  std::optional<Event> on_change(NameId id, std::optional<MemberState> before, std::optional<MemberState> after,
                                 TimePoint now);

  [[nodiscard]] bool active() const { return active_; }
  // Members of the current episode still unreachable (unordered).
  [[nodiscard]] std::vector<NameId> unreachable() const;
  [[nodiscard]] size_t suspects() const { return suspects_.size(); }
  [[nodiscard]] size_t others() const { return others_; }

 private:
  std::unordered_set<NameId> suspects_;  // members suspect right now
  size_t others_ = 0;
  bool active_ = false;
  std::unordered_set<NameId> down_;  // the episode's members still unreachable
  size_t back_ = 0;
  size_t gone_ = 0;
  TimePoint started_{};
};

}  // namespace ferry::gossip
