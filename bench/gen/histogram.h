// Log-linear histogram (the HdrHistogram idea): values below 2^kSubBits
// are exact; above, each power of two is split into 2^kSubBits equal
// buckets, so a reported value is within 1/32 (3.1 %) of the truth. Fixed
// size (1920 counters), no allocation per value; unit-free (the generator
// records TSC cycles and converts when reporting).
#pragma once

#include <array>
#include <cstdint>
#include <limits>

namespace ferry::bench::gen {

class Histogram {
 public:
  static constexpr unsigned kSubBits = 5;
  static constexpr std::uint64_t kSubBuckets = std::uint64_t{1} << kSubBits;
  static constexpr std::size_t kBuckets = (64 - kSubBits + 1) * kSubBuckets;

  static std::size_t bucket_of(std::uint64_t value);
  // Smallest and largest value that fall into bucket `index` (inclusive).
  static std::uint64_t bucket_low(std::size_t index);
  static std::uint64_t bucket_high(std::size_t index);

  void record(std::uint64_t value) {
    ++counts_[bucket_of(value)];
    ++count_;
    sum_ += value;
    if (value < min_) min_ = value;
    if (value > max_) max_ = value;
  }
  void merge(const Histogram& other);
  void reset() { *this = Histogram(); }

  // Nearest-rank percentile, q in (0, 100]: the smallest recorded value v
  // such that at least q % of the values are <= v, rounded up to its
  // bucket's top (and clamped to the observed min/max). 0 when empty.
  [[nodiscard]] std::uint64_t percentile(double q) const;

  [[nodiscard]] std::uint64_t count() const { return count_; }
  [[nodiscard]] std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  [[nodiscard]] std::uint64_t max() const { return max_; }
  [[nodiscard]] double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t max_ = 0;
};

}  // namespace ferry::bench::gen
