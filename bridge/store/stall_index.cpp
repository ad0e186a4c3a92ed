#include "stall_index.hpp"

#include <algorithm>

namespace progress::bridge {

void stall_index::track(std::shared_ptr<const stored_job> job, std::optional<std::int64_t> silent_at_ms) {
  auto it = jobs_.find(job->key);
  if (it == jobs_.end()) {
    it = jobs_.insert(tracked_job{std::move(job), nullptr, 0, unwatched}).first;
  } else {
    it->job = std::move(job);
  }
  const auto& tracked = *it;
  const auto& worker_id = tracked.job->facts.worker_id;
  // Most calls are updates of a job whose worker stays: only its silence time moves.
  const bool same_worker =
      worker_id ? tracked.worker && tracked.worker->first == *worker_id : !tracked.worker;
  if (!same_worker) {
    unlink_worker(tracked);
    if (worker_id) link_worker(tracked, *worker_id);
  }
  if (tracked.watched() && silent_at_ms) {
    // Most updates get here: the job moves to its new time in place.
    by_silence_[tracked.silence_slot].first = *silent_at_ms;
    sift(tracked.silence_slot);
  } else if (tracked.watched()) {
    unwatch(tracked);
  } else if (silent_at_ms) {
    watch(tracked, *silent_at_ms);
  }
}

void stall_index::forget(const job_key& key) {
  const auto it = jobs_.find(key);
  if (it == jobs_.end()) return;
  unlink_worker(*it);
  if (it->watched()) unwatch(*it);
  jobs_.erase(it);
}

std::vector<job_key> stall_index::jobs_of(std::string_view worker_id) const {
  const auto it = by_worker_.find(std::string(worker_id));
  if (it == by_worker_.end()) return {};
  std::vector<job_key> keys;
  keys.reserve(it->second.size());
  for (const auto* job : it->second) keys.push_back(job->key());
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::vector<job_key> stall_index::take_silent(std::int64_t now_ms, std::size_t limit) {
  std::vector<job_key> silent;
  while (!by_silence_.empty() && silent.size() < limit && by_silence_.front().first <= now_ms) {
    const auto& job = *by_silence_.front().second;
    unwatch(job);
    silent.push_back(job.key());
  }
  return silent;
}

void stall_index::link_worker(const tracked_job& job, const std::string& worker_id) {
  auto& worker = *by_worker_.try_emplace(worker_id).first;
  job.worker = &worker;
  job.worker_slot = static_cast<std::uint32_t>(worker.second.size());
  worker.second.push_back(&job);
}

void stall_index::unlink_worker(const tracked_job& job) {
  if (!job.worker) return;
  auto& [worker_id, jobs] = *job.worker;
  const auto* last = jobs.back();
  jobs[job.worker_slot] = last;
  last->worker_slot = job.worker_slot;
  jobs.pop_back();
  job.worker = nullptr;
  if (jobs.empty()) {
    by_worker_.erase(std::string(worker_id));  // a copy: the key goes with the entry
  } else if (jobs.size() < jobs.capacity() / 4) {
    jobs.shrink_to_fit();  // a worker that had many jobs gives the room back
  }
}

void stall_index::watch(const tracked_job& job, std::int64_t silent_at_ms) {
  by_silence_.emplace_back(silent_at_ms, &job);
  job.silence_slot = static_cast<std::uint32_t>(by_silence_.size() - 1);
  sift(job.silence_slot);
}

void stall_index::unwatch(const tracked_job& job) {
  const std::size_t slot = job.silence_slot;
  job.silence_slot = unwatched;
  const auto last = by_silence_.back();
  by_silence_.pop_back();
  if (by_silence_.size() < by_silence_.capacity() / 4) by_silence_.shrink_to_fit();  // a wave of jobs ended
  if (slot == by_silence_.size()) return;
  place(slot, last);
  sift(slot);
}

void stall_index::place(std::size_t slot, silent_at entry) {
  entry.second->silence_slot = static_cast<std::uint32_t>(slot);
  by_silence_[slot] = entry;
}

// Moves the entry at `slot` up or down to where the heap order wants it.
void stall_index::sift(std::size_t slot) {
  const auto entry = by_silence_[slot];
  while (slot > 0) {
    const auto parent = (slot - 1) / 2;
    if (!earlier(entry, by_silence_[parent])) break;
    place(slot, by_silence_[parent]);
    slot = parent;
  }
  for (;;) {
    auto child = 2 * slot + 1;
    if (child >= by_silence_.size()) break;
    if (child + 1 < by_silence_.size() && earlier(by_silence_[child + 1], by_silence_[child])) ++child;
    if (!earlier(by_silence_[child], entry)) break;
    place(slot, by_silence_[child]);
    slot = child;
  }
  place(slot, entry);
}

}  // namespace progress::bridge
