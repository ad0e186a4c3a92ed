// progress-bench-publisher: a worker publishing benchmark job states at fixed rates.
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "rate_publisher.hpp"

namespace {

// "1000:10,2000:10" -> two steps of 10 s at 1000 and 2000 messages per second.
std::vector<progress::bench::publish_step> parse_steps(const std::string& text) {
  std::vector<progress::bench::publish_step> steps;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto colon = item.find(':');
    if (colon == std::string::npos) throw std::invalid_argument("step '" + item + "' is not RATE:SECONDS");
    steps.push_back({std::stod(item.substr(0, colon)), std::stod(item.substr(colon + 1))});
    if (steps.back().rate <= 0 || steps.back().seconds <= 0)
      throw std::invalid_argument("step '" + item + "'");
  }
  return steps;
}

}  // namespace

int main(int argc, char** argv) {
  progress::bench::publisher_options options;
  std::string steps;
  std::string report_file;
  CLI::App app{"Benchmark publisher: job states at fixed rates, retained QoS 1", "progress-bench-publisher"};
  app.add_option("--url", options.url, "Broker URL")->capture_default_str();
  app.add_option("--username", options.username, "Broker account")->capture_default_str();
  app.add_option("--password", options.password, "Broker password")->envname("BENCH_WORKER_PASSWORD");
  app.add_option("--client-id", options.client_id, "MQTT client id")->capture_default_str();
  app.add_option("--users", options.users, "Users u0 ...")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--jobs-per-user", options.jobs_per_user, "Jobs j0 ... of each user")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--user-prefix", options.user_prefix, "User ids are <prefix><n>")->capture_default_str();
  app.add_option("--first-seq", options.first_seq, "Seq of each job's first message")->capture_default_str();
  app.add_option("--complete-at-seq", options.complete_at_seq, "From this seq on, states are terminal");
  app.add_option("--payload-bytes", options.payload_bytes, "Payload size")->capture_default_str();
  app.add_flag("--small-states", options.small_states,
               "Small states (status, progress, ordering, worker; ~110 bytes), for start-up runs");
  app.add_flag("--seed", options.seed, "First publish one untimed state per job");
  app.add_option("--seed-rate", options.seed_rate, "Messages per second while seeding")
      ->capture_default_str();
  app.add_option("--steps", steps, "RATE:SECONDS,... timed steps");
  app.add_option("--max-outstanding", options.max_outstanding, "Unacknowledged messages before waiting")
      ->capture_default_str();
  app.add_option("--watch-pid", options.watched_pids, "Report this process's CPU time per step (repeatable)");
  app.add_option("--report", report_file, "Where the JSON report goes (default stdout)");
  CLI11_PARSE(app, argc, argv);
  try {
    options.steps = parse_steps(steps);
    progress::bench::rate_publisher publisher(options);
    publisher.connect();
    const auto report = publisher.run();
    publisher.disconnect();
    if (report_file.empty()) {
      std::cout << report.dump(2) << "\n";
    } else {
      std::ofstream(report_file) << report.dump(2) << "\n";
    }
    return report.value("failed", 0) == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "progress-bench-publisher: " << e.what() << "\n";
    return 1;
  }
}
