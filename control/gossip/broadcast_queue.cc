#include "control/gossip/broadcast_queue.h"

namespace ferry::gossip {

void BroadcastQueue::queue(std::string key, std::string data) {
  auto* item = new Item{std::move(key), std::move(data), false};
  if (!item->key.empty()) {
    auto [it, inserted] = by_key_.try_emplace(item->key, item);
    if (!inserted) {
      it->second->superseded = true;  // freed when a get() meets it
      --live_;
      it->second = item;
    }
  }
  ++live_;
  if (buckets_.empty()) buckets_.resize(1);
  buckets_[0].push_front(item);  // newest first
}

void BroadcastQueue::retire(Item* item) {
  if (!item->superseded) {
    --live_;
    if (!item->key.empty()) {
      const auto it = by_key_.find(item->key);
      if (it != by_key_.end() && it->second == item) by_key_.erase(it);
    }
  }
  delete item;
}

size_t BroadcastQueue::get(size_t overhead_per_item, size_t byte_budget, uint32_t limit,
                           std::vector<std::string>& out) {
  return get_each(overhead_per_item, byte_budget, limit, [&](const std::string& data) { out.push_back(data); });
}

void BroadcastQueue::clear() {
  for (auto& bucket : buckets_) {
    for (Item* item : bucket) delete item;
    bucket.clear();
  }
  by_key_.clear();
  live_ = 0;
}

BroadcastQueue::~BroadcastQueue() { clear(); }

}  // namespace ferry::gossip
