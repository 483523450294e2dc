#include "plugins/docker/address_bitmap.h"

#include <algorithm>
#include <bit>

namespace ferry::plugins::docker {

bool AddressBitmap::set(std::uint64_t slot) {
  if (slot >= size_ || test(slot)) return false;
  words_[slot / 64] |= std::uint64_t{1} << (slot % 64);
  ++used_;
  return true;
}

bool AddressBitmap::clear(std::uint64_t slot) {
  if (slot >= size_ || !test(slot)) return false;
  words_[slot / 64] &= ~(std::uint64_t{1} << (slot % 64));
  --used_;
  return true;
}

std::optional<std::uint64_t> AddressBitmap::find_free(std::uint64_t from, std::uint64_t end) const {
  while (from < end) {
    // Bits of this word at or after `from`, inverted so free slots are ones.
    const std::uint64_t free_bits = ~words_[from / 64] & (~std::uint64_t{0} << (from % 64));
    if (free_bits != 0) {
      const std::uint64_t slot = (from & ~std::uint64_t{63}) + static_cast<std::uint64_t>(std::countr_zero(free_bits));
      return slot < end ? std::optional<std::uint64_t>(slot) : std::nullopt;
    }
    from = (from & ~std::uint64_t{63}) + 64;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> AddressBitmap::allocate(std::uint64_t begin, std::uint64_t end) {
  end = std::min(end, size_);
  if (begin >= end) return std::nullopt;
  const std::uint64_t start = std::clamp(cursor_, begin, end - 1);
  std::optional<std::uint64_t> slot = find_free(start, end);
  if (!slot) slot = find_free(begin, start);
  if (!slot) return std::nullopt;
  set(*slot);
  cursor_ = *slot + 1;
  return slot;
}

}  // namespace ferry::plugins::docker
