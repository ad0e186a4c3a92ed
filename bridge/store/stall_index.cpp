#include "stall_index.hpp"

#include <algorithm>

namespace progress::bridge {

void stall_index::track(const job_key& key, const std::optional<std::string>& worker_id,
                        std::optional<std::int64_t> silent_at_ms) {
  auto [it, added] = jobs_.try_emplace(key);
  auto& job = *it;
  auto& tracked = job.second;
  // Most calls are updates of a job whose worker stays: only its silence time moves.
  const bool same_worker =
      worker_id ? tracked.worker_id && *tracked.worker_id == *worker_id : !tracked.worker_id;
  if (!same_worker) {
    unlink_worker(job);
    if (worker_id) link_worker(job, *worker_id);
  }
  if (tracked.silent_at_ms != silent_at_ms) {
    // The node moves to its new time, not freed and allocated again: most updates get here.
    auto node = tracked.silent_at_ms ? by_silence_.extract({*tracked.silent_at_ms, &job})
                                     : silence_index::node_type{};
    if (silent_at_ms) {
      if (node.empty()) {
        by_silence_.emplace(*silent_at_ms, &job);
      } else {
        node.value().first = *silent_at_ms;
        by_silence_.insert(std::move(node));
      }
    }
    tracked.silent_at_ms = silent_at_ms;
  }
}

void stall_index::forget(const job_key& key) {
  const auto it = jobs_.find(key);
  if (it == jobs_.end()) return;
  unlink_worker(*it);
  if (it->second.silent_at_ms) by_silence_.erase({*it->second.silent_at_ms, &*it});
  jobs_.erase(it);
}

std::vector<job_key> stall_index::jobs_of(std::string_view worker_id) const {
  const auto it = by_worker_.find(std::string(worker_id));
  if (it == by_worker_.end()) return {};
  std::vector<job_key> keys;
  keys.reserve(it->second.size());
  for (const auto* job : it->second) keys.push_back(job->first);
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::vector<job_key> stall_index::take_silent(std::int64_t now_ms, std::size_t limit) {
  std::vector<job_key> silent;
  while (!by_silence_.empty() && silent.size() < limit && by_silence_.begin()->first <= now_ms) {
    auto& job = *jobs_.find(by_silence_.begin()->second->first);
    by_silence_.erase(by_silence_.begin());
    job.second.silent_at_ms.reset();
    silent.push_back(job.first);
  }
  return silent;
}

void stall_index::link_worker(tracked_job& job, const std::string& worker_id) {
  auto [worker, added] = by_worker_.try_emplace(worker_id);
  worker->second.insert(&job);
  job.second.worker_id = &worker->first;
}

void stall_index::unlink_worker(tracked_job& job) {
  if (!job.second.worker_id) return;
  const auto worker = by_worker_.find(*job.second.worker_id);
  job.second.worker_id = nullptr;
  if (worker == by_worker_.end()) return;
  worker->second.erase(&job);
  if (worker->second.empty()) by_worker_.erase(worker);
}

}  // namespace progress::bridge
