// BroadcastQueue: messages waiting to be piggybacked, each sent a limited
// number of times (retransmit_limit), fewest-sent first. A new message with
// the same key replaces the old one (a newer Alive about node X supersedes an
// older Suspect about X). Used by the membership layer and offered to the
// user layer for its own broadcasts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace ferry::gossip {

class BroadcastQueue {
 public:
  // key: invalidation key ("" never invalidates). data: the encoded item.
  void queue(std::string key, std::string data);

  // Appends up to byte_budget bytes of items (each costs size + overhead) to
  // out, fewest transmissions first; counts a transmission for each and drops
  // those that reached `limit`. Returns the bytes used.
  size_t get(size_t overhead_per_item, size_t byte_budget, uint32_t limit, std::vector<std::string>& out);

  // Same, but calls fn(const std::string&) for each chosen item instead of
  // copying it into a vector.
  template <typename Fn>
  size_t get_each(size_t overhead_per_item, size_t byte_budget, uint32_t limit, Fn&& fn);

  [[nodiscard]] size_t size() const { return items_.size(); }
  [[nodiscard]] bool empty() const { return items_.empty(); }
  void clear();

 private:
  struct Item {
    uint32_t transmits;
    uint64_t id;  // insertion order: newer first among equals
    std::string key;
    std::string data;
  };
  struct Order {
    bool operator()(const Item& a, const Item& b) const {
      if (a.transmits != b.transmits) return a.transmits < b.transmits;
      return a.id > b.id;
    }
  };
  using Set = std::set<Item, Order>;
  Set items_;
  std::unordered_map<std::string, Set::iterator> by_key_;
  uint64_t next_id_ = 0;
  std::vector<Set::node_type> scratch_;
};

template <typename Fn>
size_t BroadcastQueue::get_each(size_t overhead_per_item, size_t byte_budget, uint32_t limit, Fn&& fn) {
  size_t used = 0;
  int misses = 0;  // items are similar in size: stop scanning after a few that do not fit
  scratch_.clear();
  for (auto it = items_.begin(); it != items_.end() && used + overhead_per_item < byte_budget && misses < 8;) {
    const size_t cost = it->data.size() + overhead_per_item;
    if (used + cost > byte_budget) {
      ++it;
      ++misses;
      continue;
    }
    used += cost;
    fn(it->data);
    auto next = std::next(it);
    scratch_.push_back(items_.extract(it));
    it = next;
  }
  for (auto& node : scratch_) {
    node.value().transmits++;
    if (node.value().transmits >= limit) {
      if (!node.value().key.empty()) by_key_.erase(node.value().key);
    } else {
      auto res = items_.insert(std::move(node));
      if (!res.position->key.empty()) by_key_[res.position->key] = res.position;
    }
  }
  scratch_.clear();
  return used;
}

}  // namespace ferry::gossip
