#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "asio.hpp"

#include "bench_client.hpp"
#include "connect_gate.hpp"
#include "run_stats.hpp"

namespace progress::bench {

struct load_options {
  wire_protocol wire = wire_protocol::bridge;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  int clients = 100;
  int users = 100;
  std::string user_prefix = "u";
  int source_addresses = 8;  // 127.0.0.2 ... 127.0.0.(1+n)
  std::string jwt_secret;
  std::string mqtt_password;
  int jobs_expected = 0;
  int final_jobs = 0;
  std::int64_t final_seq = -1;
  double slow_fraction = 0.0;
  int slow_pause_ms = 10000;
  int threads = 1;
  int connect_concurrency = 256;
  int ready_timeout_s = 60;
  int storm_after_s = 0;
  int storm_timeout_s = 60;
  int max_run_s = 600;
  int max_reconnects = 3;
  bool storm_without_cursor = false;
  std::uint16_t failover_port = 0;  // clients that lose their connection go here (another replica)
  bool state_resume = false;
  std::string ready_file;
  std::string publisher_report;
  std::string report_file;
};

// Runs the clients on a few threads (one io_context each, so no locks on the hot path),
// drives the phases of a scenario (connect, hold, optional reconnect storm) and writes
// one JSON report.
class load_generator {
 public:
  explicit load_generator(load_options options);
  ~load_generator();

  // Returns the process exit status.
  int run();

 private:
  struct worker {
    boost::asio::io_context io{1};
    run_stats stats;
    connect_gate gate;
    std::vector<std::shared_ptr<bench_client>> clients;
    std::thread thread;
    explicit worker(std::size_t concurrency) : gate(concurrency) {}
  };

  client_setup setup_for(int index) const;
  void storm();
  nlohmann::json report(double connect_wall_s, double storm_wall_s, double run_wall_s) const;
  void write_json(const std::string& path, const nlohmann::json& value) const;

  load_options options_;
  std::vector<std::unique_ptr<worker>> workers_;
  client_progress progress_;
  std::vector<std::string> tokens_;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace progress::bench
