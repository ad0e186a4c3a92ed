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
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "job_key_hash.hpp"
#include "progress/protocol/topic.hpp"

namespace progress::bridge {

class stall_index {
 public:
  // (Re)tracks an unfinished job: worked by `worker_id` (when it names one),
  // silent from `silent_at_ms` on (nothing: it is stalled already).
  void track(const job_key& key, const std::optional<std::string>& worker_id,
             std::optional<std::int64_t> silent_at_ms);
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
  struct entry {
    const std::string* worker_id = nullptr;  // the key of its by_worker_ entry
    std::optional<std::int64_t> silent_at_ms;
  };
  // The other indexes point at the nodes of jobs_, which stay where they are
  // until erased: no job's key is copied twice (a million jobs may be tracked).
  using tracked_job = std::pair<const job_key, entry>;
  using silent_at = std::pair<std::int64_t, const tracked_job*>;
  struct earlier {  // by time, then by key: the same order in every replica
    bool operator()(const silent_at& a, const silent_at& b) const {
      if (a.first != b.first) return a.first < b.first;
      return a.second->first < b.second->first;
    }
  };

  void link_worker(tracked_job& job, const std::string& worker_id);
  void unlink_worker(tracked_job& job);

  std::unordered_map<job_key, entry, job_key_hash> jobs_;
  std::unordered_map<std::string, std::unordered_set<const tracked_job*>> by_worker_;
  using silence_index = std::set<silent_at, earlier>;
  silence_index by_silence_;
};

}  // namespace progress::bridge
