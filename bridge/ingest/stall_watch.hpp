#pragma once
// Marks unfinished jobs stalled (docs/protocol.md "Stalled jobs"): at once
// when the worker named in their `workerId` announces it is offline, and when
// a job sent nothing for its stall time (its `stallAfterMs`, or the bridge's
// `stall_after`). Only an update of the job clears the mark (job_store::apply):
// a worker coming back online says nothing about the jobs it left.
//
// Cost: the stall_index finds a worker's jobs and the silent ones without a
// scan of the store; a check marks at most `max_marks_per_check` jobs and
// leaves the rest to the next one.
//
// Not thread-safe: everything runs on the strand that writes the store (the
// hub's). It reports nothing itself: it returns its changes to its owner
// (job_lifecycle), which passes them on like every other change, observe()
// included.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "job_store.hpp"
#include "stall_index.hpp"

namespace progress::bridge {

struct stall_options {
  // How long a job may send nothing before it is stalled, unless it sets its own stallAfterMs.
  std::chrono::milliseconds stall_after = std::chrono::minutes{10};
  std::size_t max_marks_per_check = 10000;
};

class stall_watch {
 public:
  // `store` must outlive the watch.
  stall_watch(job_store& store, stall_options options);

  // Every change of the store, so the index follows it.
  void observe(const apply_result& change);
  // A job the store holds, as it is now (for jobs the store held before the watch saw them).
  void follow(const std::shared_ptr<const stored_job>& job);
  // A message on the status topic of `worker_id`; an offline worker stalls its jobs.
  [[nodiscard]] std::vector<apply_result> on_worker_status(std::string_view worker_id,
                                                           std::string_view payload, std::int64_t now_ms);
  // Stalls the jobs silent at `now_ms`.
  [[nodiscard]] std::vector<apply_result> check(std::int64_t now_ms);

  [[nodiscard]] const stall_index& index() const noexcept { return index_; }

 private:
  void mark(const job_key& key, stall_reason reason, std::int64_t now_ms, std::vector<apply_result>& changes);

  job_store& store_;
  const stall_options options_;
  stall_index index_;
};

}  // namespace progress::bridge
