#include "run_stats.hpp"

#include <algorithm>

namespace progress::bench {

run_stats::run_stats() : steps_(max_steps) {}

void run_stats::record_delivery(int step, std::int64_t latency_us) {
  if (step < 0 || step >= max_steps) {
    ++untimed_messages;
    return;
  }
  steps_[static_cast<std::size_t>(step)].record(latency_us);
  highest_step_ = std::max(highest_step_, step);
}

void run_stats::merge(const run_stats& other) {
  for (std::size_t i = 0; i < steps_.size(); ++i) steps_[i].merge(other.steps_[i]);
  ready_.merge(other.ready_);
  slow_.merge(other.slow_);
  storm_.merge(other.storm_);
  for (const auto& [code, count] : other.close_codes_) close_codes_[code] += count;
  highest_step_ = std::max(highest_step_, other.highest_step_);
  connect_failures += other.connect_failures;
  disconnects += other.disconnects;
  reconnects += other.reconnects;
  protocol_errors += other.protocol_errors;
  state_messages += other.state_messages;
  untimed_messages += other.untimed_messages;
  storm_bytes_received += other.storm_bytes_received;
  storm_bytes_sent += other.storm_bytes_sent;
}

nlohmann::json run_stats::summary_ms(const latency_histogram& h) {
  const auto ms = [](std::int64_t us) { return static_cast<double>(us) / 1000.0; };
  return {{"count", h.count()},
          {"p50", ms(h.percentile(0.50))},
          {"p90", ms(h.percentile(0.90))},
          {"p99", ms(h.percentile(0.99))},
          {"p999", ms(h.percentile(0.999))},
          {"max", ms(h.max())},
          {"mean", h.mean() / 1000.0}};
}

}  // namespace progress::bench
