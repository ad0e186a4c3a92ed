#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace progress::bench {

// A log-bucketed histogram of latencies in microseconds, HDR style: every power of
// two is split into 64 linear sub-buckets, so any value is reported within 1.6 %.
// Fixed size (no allocation while recording), mergeable across threads.
class latency_histogram {
 public:
  latency_histogram();

  void record(std::int64_t micros);
  void merge(const latency_histogram& other);

  std::uint64_t count() const { return count_; }
  std::int64_t max() const { return max_; }
  std::int64_t min() const { return count_ == 0 ? 0 : min_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_); }
  // The smallest recorded value v such that a fraction q (0..1) of all values is <= v,
  // rounded up to its bucket's upper edge (never under-reports).
  std::int64_t percentile(double q) const;

 private:
  static constexpr int sub_bucket_bits = 6;
  static constexpr int magnitudes = 40;  // up to 2^40 us: far beyond any run
  static constexpr std::size_t bucket_count = static_cast<std::size_t>(magnitudes + 1) << sub_bucket_bits;

  static std::size_t bucket_of(std::uint64_t value);
  static std::int64_t upper_edge(std::size_t bucket);

  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  std::int64_t sum_ = 0;
  std::int64_t max_ = 0;
  std::int64_t min_ = 0;
};

}  // namespace progress::bench
