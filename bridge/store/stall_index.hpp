#pragma once
// The jobs that may stall, found without a scan of the store: the unfinished
// jobs of each worker (all of them stall when the worker goes offline), and
// the unfinished jobs not yet stalled ordered by the time they fall silent
// (their last update plus their stall time).
//
// One entry per tracked job: at most as many as the store holds. Not
// thread-safe: one owner uses it on one strand (stall_watch on the hub's).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "job_key_hash.hpp"
#include "job_store.hpp"
#include "progress/protocol/topic.hpp"

namespace progress::bridge {

class stall_index {
 public:
  // (Re)tracks an unfinished job as the store holds it now: worked by its
  // `workerId` (when it names one), silent from `silent_at_ms` on (nothing: it
  // is stalled already).
  void track(std::shared_ptr<const stored_job> job, std::optional<std::int64_t> silent_at_ms);
  // Stops tracking a job (it ended or is gone); nothing when it is not tracked.
  void forget(const job_key& key);

  // The tracked jobs of `worker_id`, in key order.
  [[nodiscard]] std::vector<job_key> jobs_of(std::string_view worker_id) const;
  // Takes the jobs silent at `now_ms`, earliest first, at most `limit`: they
  // stay tracked (by worker) with no silence time until tracked again.
  [[nodiscard]] std::vector<job_key> take_silent(std::int64_t now_ms, std::size_t limit);

  [[nodiscard]] std::size_t size() const noexcept { return jobs_.size(); }
  // Jobs waiting to fall silent.
  [[nodiscard]] std::size_t watched() const noexcept { return by_silence_.size(); }

 private:
  // A tracked job holds the store's own stored_job, whose key is the key of
  // the index: a million tracked jobs copy no key (docs/benchmarks.md, S7).
  // The other indexes point at these nodes, which stay where they are until
  // erased, and each node knows its place in them.
  struct tracked_job;
  static constexpr std::uint32_t unwatched = UINT32_MAX;  // the silence_slot of a job with no silence time
  // A worker's jobs, in no order: a job leaves by taking the last one's place.
  using worker_jobs = std::pair<const std::string, std::vector<const tracked_job*>>;
  struct tracked_job {
    mutable std::shared_ptr<const stored_job> job;   // replaced by a newer state of the same job
    mutable worker_jobs* worker = nullptr;           // its by_worker_ entry
    mutable std::uint32_t worker_slot = 0;           // its place in worker->second
    mutable std::uint32_t silence_slot = unwatched;  // its place in by_silence_, which holds its silence time

    [[nodiscard]] const job_key& key() const noexcept { return job->key; }
    [[nodiscard]] bool watched() const noexcept { return silence_slot != unwatched; }
  };
  using silent_at = std::pair<std::int64_t, const tracked_job*>;
  // By time, then by key: the same order in every replica.
  static bool earlier(const silent_at& a, const silent_at& b) {
    if (a.first != b.first) return a.first < b.first;
    return a.second->key() < b.second->key();
  }

  void link_worker(const tracked_job& job, const std::string& worker_id);
  void unlink_worker(const tracked_job& job);
  // by_silence_ is a binary min-heap by `earlier` (16 bytes a job; a tree node would take 48).
  void watch(const tracked_job& job, std::int64_t silent_at_ms);
  void unwatch(const tracked_job& job);
  void place(std::size_t slot, silent_at entry);
  void sift(std::size_t slot);

  set_by_job_key<tracked_job> jobs_;
  std::unordered_map<std::string, std::vector<const tracked_job*>> by_worker_;
  std::vector<silent_at> by_silence_;
};

}  // namespace progress::bridge
