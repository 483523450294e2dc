// BroadcastQueue: messages waiting to be piggybacked, each sent a limited
// number of times (retransmit_limit), fewest-sent first, newest first among
// equals. A new message with the same key supersedes the old one (a newer
// Alive about node X replaces an older Suspect about X). Used by the
// membership layer and offered to the user layer for its own broadcasts.
//
// Items sit in buckets by transmit count: taking an item moves it to the
// back of the next bucket, so a get() costs O(items taken), not O(log n)
// tree surgery per item.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace ferry::gossip {

class BroadcastQueue {
 public:
  BroadcastQueue() = default;
  ~BroadcastQueue();
  BroadcastQueue(const BroadcastQueue&) = delete;
  BroadcastQueue& operator=(const BroadcastQueue&) = delete;

  // key: invalidation key ("" never invalidates). data: the encoded item.
  void queue(std::string key, std::string data);

  // Appends up to byte_budget bytes of items (each costs size + overhead) to
  // out, fewest transmissions first; counts a transmission for each and drops
  // those that reached `limit`. Returns the bytes used.
  size_t get(size_t overhead_per_item, size_t byte_budget, uint32_t limit, std::vector<std::string>& out);

  // Same, but calls fn(const std::string&) for each chosen item.
  template <typename Fn>
  size_t get_each(size_t overhead_per_item, size_t byte_budget, uint32_t limit, Fn&& fn);

  // Live (not superseded) items.
  [[nodiscard]] size_t size() const { return live_; }
  [[nodiscard]] bool empty() const { return live_ == 0; }
  void clear();

 private:
  struct Item {
    std::string key;
    std::string data;
    bool superseded = false;
  };
  void retire(Item* item);  // frees an item that will not be sent again

  std::vector<std::deque<Item*>> buckets_;  // index: transmissions so far
  std::unordered_map<std::string, Item*> by_key_;
  size_t live_ = 0;
  struct Taken {
    Item* item;
    size_t bucket;
  };
  std::vector<Taken> taken_;
  std::vector<Item*> skipped_;
};

template <typename Fn>
size_t BroadcastQueue::get_each(size_t overhead_per_item, size_t byte_budget, uint32_t limit, Fn&& fn) {
  size_t used = 0;
  int misses = 0;  // items are similar in size: stop after a few that do not fit
  taken_.clear();
  for (size_t t = 0; t < buckets_.size() && misses < 8 && used + overhead_per_item < byte_budget; ++t) {
    auto& bucket = buckets_[t];
    skipped_.clear();
    while (!bucket.empty() && misses < 8 && used + overhead_per_item < byte_budget) {
      Item* item = bucket.front();
      bucket.pop_front();
      if (item->superseded || t >= limit) {
        retire(item);
        continue;
      }
      const size_t cost = item->data.size() + overhead_per_item;
      if (used + cost > byte_budget) {
        skipped_.push_back(item);
        ++misses;
        continue;
      }
      used += cost;
      fn(item->data);
      taken_.push_back(Taken{item, t});
    }
    bucket.insert(bucket.begin(), skipped_.begin(), skipped_.end());  // back at the front, in order
  }
  // Move what was sent one bucket up only now, so no item goes twice into
  // one packet.
  for (const Taken& tk : taken_) {
    if (tk.bucket + 1 >= limit) {
      retire(tk.item);
      continue;
    }
    if (buckets_.size() <= tk.bucket + 1) buckets_.resize(tk.bucket + 2);
    buckets_[tk.bucket + 1].push_back(tk.item);
  }
  return used;
}

}  // namespace ferry::gossip
