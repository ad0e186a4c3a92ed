#include "latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace progress::bench {

latency_histogram::latency_histogram() : buckets_(bucket_count, 0) {}

std::size_t latency_histogram::bucket_of(std::uint64_t value) {
  constexpr std::uint64_t linear_limit = 1ULL << sub_bucket_bits;
  if (value < linear_limit) return static_cast<std::size_t>(value);
  // Shift the value down into [64, 128): the shift is the magnitude, the low six bits
  // left are the linear sub-bucket within it.
  const int shift = static_cast<int>(std::bit_width(value)) - (sub_bucket_bits + 1);
  const auto magnitude = static_cast<std::size_t>(std::min(shift + 1, magnitudes));
  const auto sub = static_cast<std::size_t>((value >> shift) - linear_limit);
  return (magnitude << sub_bucket_bits) + sub;
}

std::int64_t latency_histogram::upper_edge(std::size_t bucket) {
  const std::size_t magnitude = bucket >> sub_bucket_bits;
  const std::uint64_t sub = bucket & ((1ULL << sub_bucket_bits) - 1);
  if (magnitude == 0) return static_cast<std::int64_t>(sub);
  const auto shift = static_cast<int>(magnitude) - 1;
  const std::uint64_t low = ((1ULL << sub_bucket_bits) + sub) << shift;
  return static_cast<std::int64_t>(low + (1ULL << shift) - 1);
}

void latency_histogram::record(std::int64_t micros) {
  const std::uint64_t value = micros < 0 ? 0 : static_cast<std::uint64_t>(micros);
  ++buckets_[std::min(bucket_of(value), bucket_count - 1)];
  if (count_ == 0 || micros < min_) min_ = micros;
  ++count_;
  sum_ += micros;
  max_ = std::max(max_, micros);
}

void latency_histogram::merge(const latency_histogram& other) {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < bucket_count; ++i) buckets_[i] += other.buckets_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

std::int64_t latency_histogram::percentile(double q) const {
  if (count_ == 0) return 0;
  const auto wanted =
      static_cast<std::uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += buckets_[i];
    if (seen >= std::max<std::uint64_t>(wanted, 1)) return std::min(upper_edge(i), max_);
  }
  return max_;
}

}  // namespace progress::bench
