#include "stall_watch.hpp"

#include <spdlog/spdlog.h>

#include "progress/protocol/worker_status.hpp"

namespace progress::bridge {

stall_watch::stall_watch(job_store& store, stall_options options) : store_(store), options_(options) {}

void stall_watch::observe(const apply_result& change) {
  for (const auto& evicted : change.evicted) index_.forget(evicted.key);
  if (!is_change(change.outcome)) return;
  if (change.job) {
    follow(change.job);
  } else {
    index_.forget(change.key);
  }
}

void stall_watch::follow(const std::shared_ptr<const stored_job>& job) {
  if (is_terminal(job->facts.status)) return index_.forget(job->key);
  std::optional<std::int64_t> silent_at;
  if (!job->notes.stalled) {
    const auto stall_after = job->facts.stall_after_ms.value_or(options_.stall_after.count());
    silent_at = job->updated_at_ms + stall_after;
  }
  index_.track(job, silent_at);
}

std::vector<apply_result> stall_watch::on_worker_status(std::string_view worker_id, std::string_view payload,
                                                        std::int64_t now_ms) {
  std::vector<apply_result> changes;
  if (payload.empty()) return changes;  // the status was cleared
  const auto parsed = parse_worker_status(worker_id, payload);
  if (!parsed) {
    spdlog::debug("ignored the status of worker {}: {}", worker_id, parsed.error->message);
    return changes;
  }
  if (parsed.status->presence != worker_presence::offline) return changes;
  for (const auto& key : index_.jobs_of(worker_id)) mark(key, stall_reason::worker_offline, now_ms, changes);
  if (!changes.empty())
    spdlog::info("worker {} is offline: {} of its jobs stalled", worker_id, changes.size());
  return changes;
}

std::vector<apply_result> stall_watch::check(std::int64_t now_ms) {
  std::vector<apply_result> changes;
  for (const auto& key : index_.take_silent(now_ms, options_.max_marks_per_check)) {
    mark(key, stall_reason::silent, now_ms, changes);
  }
  return changes;
}

void stall_watch::mark(const job_key& key, stall_reason reason, std::int64_t now_ms,
                       std::vector<apply_result>& changes) {
  auto result = store_.annotate(key, [&](job_annotations& notes) {
    if (!notes.stalled) notes.stalled = stall_mark{reason, now_ms};
  });
  if (is_change(result.outcome)) changes.push_back(std::move(result));
}

}  // namespace progress::bridge
