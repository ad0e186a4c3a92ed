#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "latency_histogram.hpp"

namespace progress::bench {

// What the clients of one load-generator thread observed. Each thread owns one, so
// recording needs no lock; the threads' stats are merged for the report.
class run_stats {
 public:
  static constexpr int max_steps = 64;

  run_stats();

  void record_delivery(int step, std::int64_t latency_us);
  // Deliveries to clients that stopped reading on purpose: kept apart so they do not
  // hide how the others fared.
  void record_slow_delivery(std::int64_t latency_us) { slow_.record(latency_us); }
  void record_ready(std::int64_t micros) { ready_.record(micros); }
  void record_storm_recovery(std::int64_t micros) { storm_.record(micros); }
  void count_close_code(int code) { ++close_codes_[code]; }

  std::uint64_t connect_failures = 0;
  std::uint64_t disconnects = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t protocol_errors = 0;
  std::uint64_t state_messages = 0;  // snapshots / retained states (no latency sample)
  std::uint64_t untimed_messages = 0;
  // Bytes of WebSocket messages received and sent from a storm or failover until recovered.
  std::uint64_t storm_bytes_received = 0;
  std::uint64_t storm_bytes_sent = 0;

  void merge(const run_stats& other);
  const latency_histogram& step(int index) const { return steps_[static_cast<std::size_t>(index)]; }
  const latency_histogram& ready() const { return ready_; }
  const latency_histogram& slow() const { return slow_; }
  const latency_histogram& storm() const { return storm_; }
  const std::map<int, std::uint64_t>& close_codes() const { return close_codes_; }
  int highest_step() const { return highest_step_; }

  // {"count","p50","p90","p99","p999","max","mean"} in milliseconds.
  static nlohmann::json summary_ms(const latency_histogram& h);

 private:
  std::vector<latency_histogram> steps_;
  latency_histogram ready_;
  latency_histogram slow_;
  latency_histogram storm_;
  std::map<int, std::uint64_t> close_codes_;
  int highest_step_ = -1;
};

}  // namespace progress::bench
