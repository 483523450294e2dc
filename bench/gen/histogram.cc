#include "bench/gen/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace ferry::bench::gen {

std::size_t Histogram::bucket_of(std::uint64_t value) {
  if (value < kSubBuckets) return static_cast<std::size_t>(value);
  const unsigned exponent = 63U - static_cast<unsigned>(std::countl_zero(value));  // >= kSubBits
  const unsigned shift = exponent - kSubBits;
  return static_cast<std::size_t>(((exponent - kSubBits + 1) << kSubBits) + ((value >> shift) - kSubBuckets));
}

std::uint64_t Histogram::bucket_low(std::size_t index) {
  if (index < kSubBuckets) return index;
  const std::size_t group = index >> kSubBits;  // 1 for exponent kSubBits
  const unsigned shift = static_cast<unsigned>(group - 1);
  return (kSubBuckets + (index & (kSubBuckets - 1))) << shift;
}

std::uint64_t Histogram::bucket_high(std::size_t index) {
  if (index < kSubBuckets) return index;
  const unsigned shift = static_cast<unsigned>((index >> kSubBits) - 1);
  return bucket_low(index) + ((std::uint64_t{1} << shift) - 1);
}

void Histogram::merge(const Histogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

std::uint64_t Histogram::percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 100.0);
  // The epsilon keeps 99.9 % of 1000 at rank 999: 99.9 has no exact binary form.
  auto rank = static_cast<std::uint64_t>(std::ceil(q / 100.0 * static_cast<double>(count_) - 1e-9));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(bucket_high(i), min_, max_);
  }
  return max_;
}

}  // namespace ferry::bench::gen
