#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

#include <mqtt/async_client.h>
#include <nlohmann/json.hpp>

#include "progress_payload.hpp"

namespace progress::bench {

struct publish_step {
  double rate = 1000;  // messages per second
  double seconds = 1;
};

struct publisher_options {
  std::string url = "tcp://127.0.0.1:1883";
  std::string username = "worker";
  std::string password;
  std::string client_id = "bench-publisher";
  int users = 100;
  int jobs_per_user = 1;
  std::string user_prefix = "u";
  std::int64_t first_seq = 1;
  std::int64_t complete_at_seq = -1;  // from this seq on a job's state is terminal
  std::size_t payload_bytes = 300;
  bool small_states = false;  // progress_payload::shape::small instead of timed states
  // Paho C walks its in-flight list per operation: past a few thousand unacknowledged
  // messages the publisher burns a core of its own, starving the broker it waits for.
  int max_outstanding = 2000;
  bool seed = false;  // one untimed state per job (step -1), as fast as allowed
  double seed_rate = 20000;
  std::vector<publish_step> steps;
  // Processes whose CPU time each step reports (server_cpu_s[i]): the server under load.
  std::vector<pid_t> watched_pids;
};

// Publishes job states retained at QoS 1 (as workers do, docs/protocol.md) at fixed
// rates, round-robin over every user's jobs, and reports what it sent per step.
class rate_publisher : public virtual mqtt::callback {
 public:
  explicit rate_publisher(publisher_options options);

  void connect();
  nlohmann::json run();
  void disconnect();

 private:
  void delivery_complete(mqtt::delivery_token_ptr token) override;
  // Publishes `count` messages paced at `rate`; returns {sent, failed, elapsed seconds}.
  nlohmann::json publish_paced(double rate, std::int64_t count, int step);
  void publish_one(std::int64_t index, int step);
  void wait_for_acks(double max_seconds);

  publisher_options options_;
  progress_payload payload_;
  mqtt::async_client client_;
  std::vector<std::string> topics_;
  std::vector<std::string> user_ids_;
  std::vector<std::string> job_ids_;
  std::vector<std::int64_t> next_seq_;
  std::atomic<std::int64_t> acked_{0};
  std::int64_t published_ = 0;
  std::int64_t failed_ = 0;
};

}  // namespace progress::bench
