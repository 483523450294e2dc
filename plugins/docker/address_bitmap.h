// A fixed-size bitmap of address slots (slot i = the i-th address of a
// range) with next-fit allocation: a search starts after the slot handed out
// last, so a released address is not reused at once (peers' neighbour
// caches may still point at it). The IPAM allocators use one per range.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace ferry::plugins::docker {

class AddressBitmap {
 public:
  explicit AddressBitmap(std::uint64_t size) : size_(size), words_((size + 63) / 64, 0) {}

  [[nodiscard]] std::uint64_t size() const { return size_; }
  [[nodiscard]] std::uint64_t used() const { return used_; }
  [[nodiscard]] bool test(std::uint64_t slot) const { return (words_[slot / 64] >> (slot % 64) & 1) != 0; }

  // Marks `slot` used; false when it already was (or is out of range).
  bool set(std::uint64_t slot);
  // Marks `slot` free; false when it already was (or is out of range).
  bool clear(std::uint64_t slot);

  // Takes the first free slot in [begin, end), searching from just after the
  // last slot this call returned (wrapping to begin). nullopt when full.
  std::optional<std::uint64_t> allocate(std::uint64_t begin, std::uint64_t end);

 private:
  // First free slot in [from, end), if any.
  [[nodiscard]] std::optional<std::uint64_t> find_free(std::uint64_t from, std::uint64_t end) const;

  std::uint64_t size_;
  std::vector<std::uint64_t> words_;
  std::uint64_t used_ = 0;
  std::uint64_t cursor_ = 0;  // next-fit: where the next search starts
};

}  // namespace ferry::plugins::docker
