#include "control/gossip/broadcast_queue.h"

namespace ferry::gossip {

void BroadcastQueue::queue(std::string key, std::string data) {
  if (!key.empty()) {
    if (auto it = by_key_.find(key); it != by_key_.end()) {
      items_.erase(it->second);
      by_key_.erase(it);
    }
  }
  auto [pos, inserted] = items_.insert(Item{0, next_id_++, std::move(key), std::move(data)});
  if (inserted && !pos->key.empty()) by_key_.emplace(pos->key, pos);
}

size_t BroadcastQueue::get(size_t overhead_per_item, size_t byte_budget, uint32_t limit,
                           std::vector<std::string>& out) {
  return get_each(overhead_per_item, byte_budget, limit, [&](const std::string& data) { out.push_back(data); });
}

void BroadcastQueue::clear() {
  items_.clear();
  by_key_.clear();
}

}  // namespace ferry::gossip
