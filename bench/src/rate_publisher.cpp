#include "rate_publisher.hpp"

#include "process_cpu.hpp"

#include <chrono>
#include <cmath>
#include <iostream>
#include <thread>

namespace progress::bench {

namespace {

using clock = std::chrono::steady_clock;

// Paho refuses a publish once this many are queued inside it (MQTT error -12); the
// default is tiny, and 20k msg/s outruns its sending thread for a moment now and then.
constexpr int max_buffered_messages = 200000;

std::int64_t monotonic_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch()).count();
}

std::int64_t epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

rate_publisher::rate_publisher(publisher_options options)
    : options_(std::move(options)),
      payload_(options_.payload_bytes,
               options_.small_states ? progress_payload::shape::small : progress_payload::shape::timed),
      client_(options_.url, options_.client_id, max_buffered_messages, nullptr) {
  const auto jobs =
      static_cast<std::size_t>(options_.users) * static_cast<std::size_t>(options_.jobs_per_user);
  topics_.reserve(jobs);
  for (std::size_t index = 0; index < jobs; ++index) {
    const auto user = index % static_cast<std::size_t>(options_.users);
    const auto job = index / static_cast<std::size_t>(options_.users);
    user_ids_.push_back(options_.user_prefix + std::to_string(user));
    job_ids_.push_back("j" + std::to_string(job));
    topics_.push_back("users/" + user_ids_.back() + "/jobs/" + job_ids_.back());
  }
  next_seq_.assign(jobs, options_.first_seq);
  client_.set_callback(*this);
}

void rate_publisher::connect() {
  auto connect_options = mqtt::connect_options_builder()
                             .mqtt_version(MQTTVERSION_3_1_1)
                             .clean_session(true)
                             .user_name(options_.username)
                             .password(options_.password)
                             .keep_alive_interval(std::chrono::seconds(30))
                             .max_inflight(65535)
                             .finalize();
  client_.connect(connect_options)->wait_for(std::chrono::seconds(10));
  if (!client_.is_connected()) throw std::runtime_error("cannot connect to " + options_.url);
}

void rate_publisher::delivery_complete(mqtt::delivery_token_ptr) {
  acked_.fetch_add(1, std::memory_order_relaxed);
}

void rate_publisher::publish_one(std::int64_t index, int step) {
  const auto job = static_cast<std::size_t>(index % static_cast<std::int64_t>(topics_.size()));
  const std::int64_t seq = next_seq_[job]++;
  const bool terminal = options_.complete_at_seq >= 0 && seq >= options_.complete_at_seq;
  auto message = mqtt::make_message(
      topics_[job],
      payload_.build(user_ids_[job], job_ids_[job], seq, terminal, step, monotonic_now_ns(), epoch_ms()), 1,
      true);
  try {
    client_.publish(std::move(message));
    ++published_;
  } catch (const mqtt::exception& e) {
    if (failed_++ == 0) std::cerr << "publisher: publish failed: " << e.what() << "\n";
  }
}

nlohmann::json rate_publisher::publish_paced(double rate, std::int64_t count, int step) {
  std::vector<std::optional<double>> cpu_before;
  for (const auto pid : options_.watched_pids) cpu_before.push_back(process_cpu_seconds(pid));
  const auto start = clock::now();
  const std::int64_t failed_before = failed_;
  std::int64_t sent = 0;
  // Bounded: the step's own duration plus a grace when the broker pushes back: 10 s for a
  // timed step; for the seed, which every later step relies on, a millisecond per state.
  const double grace_s = step < 0 ? std::max(10.0, static_cast<double>(count) / 1000.0) : 10.0;
  const auto limit = start + std::chrono::duration<double>(static_cast<double>(count) / rate + grace_s);
  while (sent < count && clock::now() < limit) {
    const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
    const auto due = std::min(count, static_cast<std::int64_t>(std::ceil(elapsed * rate)));
    while (sent < due && published_ - acked_.load(std::memory_order_relaxed) < options_.max_outstanding) {
      publish_one(sent, step);
      ++sent;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
  nlohmann::json result = {
      {"step", step},         {"rate", rate},
      {"sent", sent},         {"failed", failed_ - failed_before},
      {"elapsed_s", elapsed}, {"achieved_rate", elapsed > 0 ? static_cast<double>(sent) / elapsed : 0.0}};
  if (!options_.watched_pids.empty()) {
    auto& cpu = result["server_cpu_s"] = nlohmann::json::array();
    for (std::size_t i = 0; i < options_.watched_pids.size(); ++i) {
      const auto after = process_cpu_seconds(options_.watched_pids[i]);
      cpu.push_back(after && cpu_before[i] ? nlohmann::json(*after - *cpu_before[i]) : nlohmann::json());
    }
  }
  return result;
}

void rate_publisher::wait_for_acks(double max_seconds) {
  const auto limit = clock::now() + std::chrono::duration<double>(max_seconds);
  while (acked_.load() < published_ && clock::now() < limit)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

nlohmann::json rate_publisher::run() {
  nlohmann::json report;
  if (options_.seed) {
    report["seed"] = publish_paced(options_.seed_rate, static_cast<std::int64_t>(topics_.size()), -1);
    std::cerr << "publisher: seeded " << topics_.size() << " jobs\n";
  }
  report["steps"] = nlohmann::json::array();
  for (std::size_t i = 0; i < options_.steps.size(); ++i) {
    const auto& step = options_.steps[i];
    const auto count = static_cast<std::int64_t>(std::llround(step.rate * step.seconds));
    auto result = publish_paced(step.rate, count, static_cast<int>(i));
    std::cerr << "publisher: step " << i << " " << step.rate << " msg/s: sent " << result["sent"] << " in "
              << result["elapsed_s"] << " s\n";
    report["steps"].push_back(std::move(result));
  }
  wait_for_acks(15.0);
  report["published"] = published_;
  report["acked"] = acked_.load();
  report["failed"] = failed_;
  return report;
}

void rate_publisher::disconnect() {
  try {
    client_.disconnect()->wait_for(std::chrono::seconds(5));
  } catch (const mqtt::exception&) {
    // Exiting anyway; the broker drops the session.
  }
}

}  // namespace progress::bench
