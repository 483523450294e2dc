#include "control/ipam/allocations.h"

namespace ferry::ipam {

bool Allocations::add(Addr ip, std::uint32_t block, const std::string& handle) {
  if (!by_address_.emplace(ip, handle).second) return false;
  ++per_block_[block];
  if (!handle.empty()) by_handle_[handle] = ip;
  return true;
}

std::optional<std::string> Allocations::remove(Addr ip, std::uint32_t block) {
  auto it = by_address_.find(ip);
  if (it == by_address_.end()) return std::nullopt;
  std::string handle = std::move(it->second);
  by_address_.erase(it);
  if (--per_block_[block] == 0) per_block_.erase(block);
  if (!handle.empty()) by_handle_.erase(handle);
  return handle;
}

std::vector<std::pair<Addr, std::string>> Allocations::take_block(std::uint32_t block, Addr first, std::uint32_t size) {
  std::vector<std::pair<Addr, std::string>> out;
  for (auto it = by_address_.lower_bound(first); it != by_address_.end() && it->first - first < size;) {
    if (!it->second.empty()) by_handle_.erase(it->second);
    out.emplace_back(it->first, std::move(it->second));
    it = by_address_.erase(it);
  }
  per_block_.erase(block);
  return out;
}

std::optional<Addr> Allocations::find(const std::string& handle) const {
  auto it = by_handle_.find(handle);
  if (it == by_handle_.end()) return std::nullopt;
  return it->second;
}

std::uint32_t Allocations::used_in(std::uint32_t block) const {
  auto it = per_block_.find(block);
  return it == per_block_.end() ? 0 : it->second;
}

Result<void> Allocations::check(const PoolSpec& spec) const {
  std::map<std::uint32_t, std::uint32_t> per_block;
  std::size_t handles = 0;
  for (const auto& [ip, handle] : by_address_) {
    ++per_block[spec.block_of(ip)];
    if (handle.empty()) continue;
    ++handles;
    const auto it = by_handle_.find(handle);
    if (it == by_handle_.end() || it->second != ip) return make_error("handle index out of date");
  }
  if (per_block != per_block_) return make_error("per-block counts out of date");
  if (handles != by_handle_.size()) return make_error("handle index holds extra entries");
  return ok();
}

}  // namespace ferry::ipam
