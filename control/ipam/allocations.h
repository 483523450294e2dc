// Allocations: the addresses this host handed out in one pool, indexed three
// ways: by address (with the handle, an endpoint id or ""), by non-empty
// handle, and as a count per block (a block with allocations is never
// donated or handed over). The indexes change together or not at all.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "control/ipam/pool.h"

namespace ferry::ipam {

class Allocations {
 public:
  // Records `ip` (in `block`) for `handle`. False, changing nothing, when
  // `ip` is held already.
  bool add(Addr ip, std::uint32_t block, const std::string& handle);
  // Forgets `ip` (in `block`); returns its handle, or nullopt (changing
  // nothing) when it is not held.
  std::optional<std::string> remove(Addr ip, std::uint32_t block);
  // Forgets every allocation in `block` (addresses [first, first + size));
  // returns them, lowest address first.
  std::vector<std::pair<Addr, std::string>> take_block(std::uint32_t block, Addr first, std::uint32_t size);

  [[nodiscard]] bool contains(Addr ip) const { return by_address_.contains(ip); }
  [[nodiscard]] std::optional<Addr> find(const std::string& handle) const;
  [[nodiscard]] std::uint32_t used_in(std::uint32_t block) const;
  [[nodiscard]] bool in_use(std::uint32_t block) const { return per_block_.contains(block); }
  [[nodiscard]] const std::map<Addr, std::string>& by_address() const { return by_address_; }
  [[nodiscard]] std::size_t size() const { return by_address_.size(); }

  // Recounts the per-block and handle indexes from the addresses (tests and
  // fuzzing); `spec` maps an address to its block.
  [[nodiscard]] Result<void> check(const PoolSpec& spec) const;

 private:
  std::map<Addr, std::string> by_address_;
  std::map<std::string, Addr> by_handle_;             // non-empty handles
  std::map<std::uint32_t, std::uint32_t> per_block_;  // block -> allocations in it (never 0)
};

}  // namespace ferry::ipam
