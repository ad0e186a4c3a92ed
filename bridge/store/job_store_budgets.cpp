// The byte budgets of job_store (see the top of job_store.hpp): what a job
// counts, and what goes first when a budget is reached.
#include "job_store.hpp"

namespace progress::bridge {
namespace {

// One entry per job and change: a job trimmed twice keeps its latest floor.
void note_trim(std::vector<history_trim>& trimmed, const job_key& key, std::int64_t first_seq) {
  if (!trimmed.empty() && trimmed.back().key == key) {
    trimmed.back().first_seq = first_seq;
  } else {
    trimmed.push_back(history_trim{key, first_seq});
  }
}

}  // namespace

void job_store::add_bytes(const std::string& user_id, std::size_t bytes) {
  bytes_ += bytes;
  users_[user_id].bytes += bytes;
}

void job_store::remove_bytes(const std::string& user_id, std::size_t bytes) {
  bytes_ -= bytes;
  if (const auto user = users_.find(user_id); user != users_.end()) user->second.bytes -= bytes;
}

// A job's oldest event is droppable while a newer one follows it, so only jobs
// with two events or more are in the front indexes.
void job_store::unfront(job_entry& entry) {
  if (entry.history.size() < 2) return;
  const std::pair front{entry.history.front()->revision, &entry};
  fronts_.erase(front);
  if (const auto user = users_.find(entry.current->key.user_id); user != users_.end()) {
    user->second.fronts.erase(front);
  }
}

void job_store::refront(job_entry& entry) {
  if (entry.history.size() < 2) return;
  const std::pair front{entry.history.front()->revision, &entry};
  fronts_.insert(front);
  users_[entry.current->key.user_id].fronts.insert(front);
}

std::optional<job_store::front_key> job_store::front_of(job_entry& entry) {
  if (entry.history.size() < 2) return std::nullopt;
  return front_key{entry.history.front()->revision, &entry};
}

// Most updates add an event and keep the oldest: nothing to move.
void job_store::move_front(job_entry& entry, const std::optional<front_key>& before) {
  const auto after = front_of(entry);
  if (after == before) return;
  auto& user = users_[entry.current->key.user_id];
  if (before) {
    fronts_.erase(*before);
    user.fronts.erase(*before);
  }
  if (after) {
    fronts_.insert(*after);
    user.fronts.insert(*after);
  }
}

// Callers unfront the entry before and refront it after (or use move_front).
void job_store::push_event(job_entry& entry, std::shared_ptr<const job_event> event) {
  entry.history_bytes += event->json.size();
  add_bytes(entry.current->key.user_id, event->json.size());
  entry.history.push_back(std::move(event));
}

// The job's own limits, by count and by bytes; its latest event always stays.
// Callers unfront the entry before and refront it after (or use move_front).
void job_store::trim_history(job_entry& entry, std::vector<history_trim>& trimmed) {
  bool dropped = false;
  while (entry.history.size() > 1 && (entry.history.size() > limits_.history_per_job ||
                                      entry.history_bytes > limits_.history_bytes_per_job)) {
    drop_front(entry);
    dropped = true;
  }
  if (dropped) note_trim(trimmed, entry.current->key, entry.history.front()->seq);
}

void job_store::drop_front(job_entry& entry) {
  const auto size = entry.history.front()->json.size();
  entry.history.erase(entry.history.begin());
  entry.history_bytes -= size;
  remove_bytes(entry.current->key.user_id, size);
}

// Drops the oldest droppable event of the jobs in `fronts`; false when there is none.
bool job_store::drop_oldest_event(front_index& fronts, std::vector<history_trim>& trimmed) {
  if (fronts.empty()) return false;
  auto& entry = *fronts.begin()->second;
  unfront(entry);
  drop_front(entry);
  refront(entry);
  note_trim(trimmed, entry.current->key, entry.history.front()->seq);
  return true;
}

// Evicts the least recently updated job of `finished` other than `keep`, or
// else the least recently changed one of `stalled` (finished jobs go first: a
// stalled one may still come back); false when there is none.
bool job_store::evict_oldest(const std::set<std::uint64_t>& finished, const std::set<std::uint64_t>& stalled,
                             const job_entry* keep, std::vector<job_change>& evicted) {
  for (const auto* candidates : {&finished, &stalled}) {
    for (const auto revision : *candidates) {
      const auto it = jobs_.find(by_revision_.at(revision)->key);
      if (&*it == keep) continue;
      evicted.push_back(erase(it));
      return true;
    }
  }
  return false;
}

// Makes room for `needed` more bytes of `user_id` within both budgets: oldest
// history events first, then finished jobs, then stalled ones. False when that
// is not enough.
bool job_store::make_byte_room(const std::string& user_id, std::size_t needed, const job_entry* keep,
                               apply_result& result) {
  const auto user_over = [&] {
    const auto user = users_.find(user_id);
    return (user == users_.end() ? 0 : user->second.bytes) + needed > limits_.bytes_per_user;
  };
  while (user_over()) {
    const auto user = users_.find(user_id);
    if (user == users_.end()) return false;  // the job alone is over the budget
    if (drop_oldest_event(user->second.fronts, result.trimmed)) continue;
    if (!evict_oldest(user->second.finished, user->second.stalled, keep, result.evicted)) return false;
  }
  while (bytes_ + needed > limits_.max_bytes) {
    if (drop_oldest_event(fronts_, result.trimmed)) continue;
    if (!evict_oldest(finished_, stalled_, keep, result.evicted)) return false;
  }
  return true;
}

}  // namespace progress::bridge
