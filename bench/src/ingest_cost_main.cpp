// What the bridge spends on one published job state before any socket is
// involved: topic parse, payload parse and validation, the store's ordering and
// history (job_store::apply), and the stream message built once for every
// session (make_stream_event). Single-threaded, in-process, no broker:
//   progress-bench-ingest-cost [messages] [jobs] [payload bytes] [users]
// Payload bytes 0 means the small states of the start-up scenario (S7).
// Run it under `valgrind --tool=callgrind` for instructions per message
// (docs/benchmarks.md, "Ingest cost per message").
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "job_store.hpp"
#include "progress/protocol/topic.hpp"
#include "progress/protocol/validation.hpp"
#include "progress_payload.hpp"
#include "stream_event.hpp"

namespace {

struct message {
  std::string topic;
  std::string payload;
};

std::size_t argument(int argc, char** argv, int index, std::size_t fallback) {
  return argc > index ? std::strtoull(argv[index], nullptr, 10) : fallback;
}

// Resident memory of this process, in bytes (Linux).
std::size_t resident_bytes() {
  std::ifstream statm{"/proc/self/statm"};
  std::size_t pages = 0;
  std::size_t resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

}  // namespace

int main(int argc, char** argv) {
  const auto count = argument(argc, argv, 1, 200000);
  const auto jobs = std::max<std::size_t>(1, argument(argc, argv, 2, 5000));
  const auto payload_bytes = argument(argc, argv, 3, 400);
  const progress::bench::progress_payload payloads{
      payload_bytes, payload_bytes == 0 ? progress::bench::progress_payload::shape::small
                                        : progress::bench::progress_payload::shape::timed};
  const auto users = std::max<std::size_t>(1, argument(argc, argv, 4, jobs));

  // Built up front: the publisher's work is not the bridge's.
  std::vector<message> messages;
  messages.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto user = "user-" + std::to_string(i % jobs % users);
    const auto job = "job-" + std::to_string(i % jobs);
    const auto seq = static_cast<std::int64_t>(i / jobs + 1);
    messages.push_back(
        {"users/" + user + "/jobs/" + job,
         payloads.build(user, job, seq, false, 0, static_cast<std::int64_t>(i), 1'795'000'000'000)});
  }

  progress::bridge::job_store store{progress::bridge::store_limits{.jobs_per_user = jobs, .max_jobs = jobs}};
  const auto resident_before = resident_bytes();
  std::size_t accepted = 0;
  std::size_t frame_bytes = 0;
  const auto started = std::chrono::steady_clock::now();
  for (const auto& m : messages) {
    const auto key = progress::parse_job_topic(m.topic);
    if (!key) return 1;
    auto parsed = progress::parse_update(*key, m.payload);
    if (!parsed) return 1;
    const auto result = store.apply(*key, std::move(*parsed.state), 1'795'000'000'000);
    if (!progress::bridge::is_change(result.outcome)) continue;
    ++accepted;
    const auto event = progress::bridge::make_stream_event(
        progress::bridge::job_change{result.revision, result.key, result.job}, 1, false);
    frame_bytes += event->websocket_text.size();
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count();
  std::printf("%zu messages, %zu jobs, %zu accepted, %zu frame bytes each: %.2f us per message\n", count,
              jobs, accepted, accepted ? frame_bytes / accepted : 0,
              static_cast<double>(ns) / 1000.0 / static_cast<double>(count));
  // The messages are freed only at exit: what grew is the store's.
  std::printf(
      "store: %zu jobs, %zu bytes counted by its budgets, resident memory grew by %zu bytes per job\n",
      store.size(), store.bytes(), (resident_bytes() - resident_before) / store.size());
  return accepted == count ? 0 : 1;
}
