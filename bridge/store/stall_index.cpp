#include "stall_index.hpp"

#include <functional>

namespace progress::bridge {

std::size_t stall_index::key_hash::operator()(const job_key& key) const noexcept {
  const std::hash<std::string_view> hash;
  return hash(key.user_id) * 31 + hash(key.job_id);
}

void stall_index::track(const job_key& key, const std::optional<std::string>& worker_id,
                        std::optional<std::int64_t> silent_at_ms) {
  auto [it, added] = jobs_.try_emplace(key);
  auto& tracked = it->second;
  // Most calls are updates of a job whose worker stays: only its silence time moves.
  if (added || tracked.worker_id != worker_id) {
    if (!added && tracked.worker_id) unlink_worker(key, *tracked.worker_id);
    if (worker_id) by_worker_[*worker_id].insert(key);
    tracked.worker_id = worker_id;
  }
  if (tracked.silent_at_ms != silent_at_ms) {
    if (tracked.silent_at_ms) by_silence_.erase({*tracked.silent_at_ms, key});
    if (silent_at_ms) by_silence_.emplace(*silent_at_ms, key);
    tracked.silent_at_ms = silent_at_ms;
  }
}

void stall_index::forget(const job_key& key) {
  const auto it = jobs_.find(key);
  if (it == jobs_.end()) return;
  if (it->second.worker_id) unlink_worker(key, *it->second.worker_id);
  if (it->second.silent_at_ms) by_silence_.erase({*it->second.silent_at_ms, key});
  jobs_.erase(it);
}

std::vector<job_key> stall_index::jobs_of(std::string_view worker_id) const {
  const auto it = by_worker_.find(std::string(worker_id));
  if (it == by_worker_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

std::vector<job_key> stall_index::take_silent(std::int64_t now_ms, std::size_t limit) {
  std::vector<job_key> silent;
  while (!by_silence_.empty() && silent.size() < limit && by_silence_.begin()->first <= now_ms) {
    auto node = by_silence_.extract(by_silence_.begin());
    jobs_.at(node.value().second).silent_at_ms.reset();
    silent.push_back(std::move(node.value().second));
  }
  return silent;
}

void stall_index::unlink_worker(const job_key& key, const std::string& worker_id) {
  const auto worker = by_worker_.find(worker_id);
  if (worker == by_worker_.end()) return;
  worker->second.erase(key);
  if (worker->second.empty()) by_worker_.erase(worker);
}

}  // namespace progress::bridge
