#include "job_store.hpp"

#include <algorithm>
#include <mutex>
#include <random>
#include <stdexcept>
#include <utility>

#include "progress/protocol/update_order.hpp"

namespace progress::bridge {
namespace {

apply_outcome outcome_of(update_decision decision) noexcept {
  switch (decision) {
    case update_decision::accept: return apply_outcome::accepted;
    case update_decision::new_attempt: return apply_outcome::new_attempt;
    case update_decision::duplicate: return apply_outcome::duplicate;
    case update_decision::stale: return apply_outcome::stale;
    case update_decision::after_terminal: return apply_outcome::after_terminal;
  }
  return apply_outcome::stale;
}

// The history event of an accepted state, its JSON written into a reused
// buffer, then copied once at its exact size: a stored state keeps no spare
// capacity (a million small jobs would carry 300 MB of it). The store numbers it.
std::shared_ptr<job_event> serialize(const job_state& state, std::int64_t now_ms) {
  thread_local std::string scratch;
  scratch.clear();
  append_json(scratch, state, now_ms);
  return std::make_shared<job_event>(job_event{0, 0, now_ms, scratch});
}

std::size_t index_of(job_status status) noexcept {
  return static_cast<std::size_t>(status);
}

std::uint64_t random_epoch() {
  std::random_device device;
  const auto high = static_cast<std::uint64_t>(device()) << 32U;
  // The clock guards against a random_device that repeats itself.
  const auto now = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return (high | device()) ^ now;
}

}  // namespace

std::string stored_job::plain_json() const {
  if (plain_size >= json->size()) return *json;
  // append_annotations put them before the closing brace.
  std::string plain(*json, 0, plain_size - 1);
  plain += '}';
  return plain;
}

std::string_view to_string(apply_outcome outcome) noexcept {
  switch (outcome) {
    case apply_outcome::accepted: return "accepted";
    case apply_outcome::new_attempt: return "new_attempt";
    case apply_outcome::removed: return "removed";
    case apply_outcome::duplicate: return "duplicate";
    case apply_outcome::stale: return "stale";
    case apply_outcome::after_terminal: return "after_terminal";
    case apply_outcome::not_found: return "not_found";
    case apply_outcome::over_capacity: return "over_capacity";
    case apply_outcome::expired: return "expired";
  }
  return "unknown";
}

job_store::job_store(store_limits limits) : limits_{limits}, epoch_{random_epoch()} {}

apply_result job_store::apply(const job_key& key, job_state incoming, std::int64_t now_ms) {
  apply_result result;
  result.key = key;
  incoming.user_id = key.user_id;
  incoming.job_id = key.job_id;

  const bool long_finished = is_terminal(incoming.status) && incoming.timestamp &&
                             *incoming.timestamp <= now_ms - limits_.finished_ttl.count();

  // Most refused updates are retained duplicates replayed on resubscribe:
  // decide under the shared lock first so they cost no serialization.
  {
    std::shared_lock lock{mutex_};
    const auto* entry = find_entry(key);
    if (entry == nullptr && long_finished) {
      result.outcome = apply_outcome::expired;
      return result;
    }
    if (entry) {
      const auto decision = decide_update(&entry->current->facts, incoming);
      if (!is_accepted(decision)) {
        result.outcome = outcome_of(decision);
        result.job = entry->current;
        return result;
      }
    }
  }
  auto event = serialize(incoming, now_ms);

  std::unique_lock lock{mutex_};
  auto it = jobs_.find(key);
  // Decide again: another writer may have moved the job on in between.
  const auto decision = decide_update(it == jobs_.end() ? nullptr : &it->current->facts, incoming);
  result.outcome = outcome_of(decision);
  if (!is_accepted(decision)) {
    result.job = it->current;
    return result;
  }
  if (it == jobs_.end()) {
    if (long_finished) {
      result.outcome = apply_outcome::expired;
      return result;
    }
    if (!make_room(key, result.evicted) ||
        !make_byte_room(key.user_id, 2 * event->json.size(), nullptr, result)) {
      result.outcome = apply_outcome::over_capacity;
      return result;
    }
  }

  const bool stored_before = it != jobs_.end();
  // An update clears the stall; a cancel request holds until the job ends.
  job_annotations notes;
  if (stored_before && !is_terminal(incoming.status))
    notes.cancel_requested = it->current->notes.cancel_requested;
  const auto plain_size = static_cast<std::uint32_t>(event->json.size());
  append_annotations(event->json, notes);
  ++revision_;
  event->revision = revision_;
  auto job = std::make_shared<const stored_job>(stored_job{key, job_facts::of(incoming), now_ms, revision_,
                                                           shared_json(event), std::move(notes), plain_size});
  if (stored_before) {
    remove_bytes(key.user_id, it->current->json->size());
    reindex(*it->current, job);
  } else {
    it = jobs_.insert(job_entry{job, {}, 0}).first;
    index(job);
  }
  auto& entry = entry_of(it);
  const auto front_before = front_of(entry);
  entry.current = job;
  add_bytes(key.user_id, job->json->size());
  event->seq = entry.next_seq();
  result.event = std::move(event);

  if (decision == update_decision::new_attempt) {
    remove_bytes(key.user_id, entry.history_bytes);
    entry.history.clear();
    entry.history_bytes = 0;
  }
  push_event(entry, result.event);
  if (decision == update_decision::new_attempt)
    result.trimmed.push_back(history_trim{key, result.event->seq});
  trim_history(entry, result.trimmed);
  move_front(entry, front_before);
  // An update is never refused, but may push its user or the store over a budget.
  if (stored_before) make_byte_room(key.user_id, 0, &entry, result);

  log_change(job_change{revision_, key, job});
  result.job = std::move(job);
  result.revision = revision_;
  return result;
}

apply_result job_store::restore(restored_job saved) {
  apply_result result;
  result.key = saved.key;
  if (saved.history.empty() || !saved.json)
    throw std::invalid_argument("restore: a job needs its state and history");
  std::unique_lock lock{mutex_};
  if (saved.revision <= revision_ || jobs_.contains(saved.key)) {
    throw std::invalid_argument("restore: jobs must come once each, in ascending revision order");
  }
  if (!make_room(saved.key, result.evicted) ||
      !make_byte_room(saved.key.user_id, 2 * saved.json->size(), nullptr, result)) {
    result.outcome = apply_outcome::over_capacity;
    return result;
  }
  revision_ = saved.revision;
  auto job = std::make_shared<const stored_job>(stored_job{saved.key,
                                                           job_facts::of(saved.state),
                                                           saved.updated_at_ms,
                                                           saved.revision,
                                                           saved.json,
                                                           {},
                                                           static_cast<std::uint32_t>(saved.json->size())});
  auto& entry = entry_of(jobs_.insert(job_entry{job, {}, 0}).first);
  index(job);
  add_bytes(saved.key.user_id, saved.json->size());
  for (auto& event : saved.history) push_event(entry, std::move(event));
  trim_history(entry, result.trimmed);
  refront(entry);
  make_byte_room(saved.key.user_id, 0, &entry, result);  // for the older events
  result.outcome = apply_outcome::accepted;
  result.job = std::move(job);
  result.revision = revision_;
  return result;
}

void job_store::skip_revisions_to(std::uint64_t revision) {
  std::unique_lock lock{mutex_};
  revision_ = std::max(revision_, revision);
  // Restored jobs are not in the change log: a cursor from before cannot resume.
  if (change_log_.empty()) log_floor_ = revision_;
}

apply_result job_store::remove(const job_key& key) {
  apply_result result;
  result.key = key;
  std::unique_lock lock{mutex_};
  const auto it = jobs_.find(key);
  if (it == jobs_.end()) return result;  // not_found
  result.revision = erase(it).revision;
  result.outcome = apply_outcome::removed;
  return result;
}

std::vector<job_change> job_store::expire(std::int64_t now_ms) {
  std::vector<job_change> removed;
  const auto ttl = limits_.finished_ttl.count();
  std::unique_lock lock{mutex_};
  // In update order; stops at the first job still fresh, so a backwards clock
  // step delays some expiries instead of forcing a scan of every finished job.
  while (!finished_.empty()) {
    const auto& job = *by_revision_.at(*finished_.begin());
    if (now_ms - job.updated_at_ms < ttl) break;
    removed.push_back(erase(jobs_.find(job.key)));
  }
  // The same in the order of marking (a later annotation of a stalled job,
  // such as a cancel request, may delay its expiry a little).
  const auto stalled_ttl = limits_.stalled_ttl.count();
  while (!stalled_.empty()) {
    const auto& job = *by_revision_.at(*stalled_.begin());
    if (now_ms - job.notes.stalled->since_ms < stalled_ttl) break;
    removed.push_back(erase(jobs_.find(job.key)));
  }
  return removed;
}

apply_result job_store::annotate(const job_key& key, const std::function<void(job_annotations&)>& edit) {
  apply_result result;
  result.key = key;
  std::unique_lock lock{mutex_};
  const auto it = jobs_.find(key);
  if (it == jobs_.end()) return result;  // not_found
  auto& entry = entry_of(it);
  const auto old = entry.current;
  result.job = old;
  if (is_terminal(old->facts.status)) {
    result.outcome = apply_outcome::after_terminal;
    return result;
  }
  auto notes = old->notes;
  edit(notes);
  if (notes == old->notes) {
    result.outcome = apply_outcome::duplicate;
    return result;
  }
  auto json = old->plain_json();
  append_annotations(json, notes);
  ++revision_;
  auto job = std::make_shared<const stored_job>(
      stored_job{key, old->facts, old->updated_at_ms, revision_,
                 std::make_shared<const std::string>(std::move(json)), std::move(notes), old->plain_size});
  remove_bytes(key.user_id, old->json->size());
  add_bytes(key.user_id, job->json->size());
  reindex(*old, job);
  entry.current = job;
  log_change(job_change{revision_, key, job});
  result.outcome = apply_outcome::accepted;
  result.job = std::move(job);
  result.revision = revision_;
  return result;
}

std::shared_ptr<const stored_job> job_store::find(const job_key& key) const {
  std::shared_lock lock{mutex_};
  const auto* entry = find_entry(key);
  return entry == nullptr ? nullptr : entry->current;
}

bool job_store::contains(const job_key& key) const {
  std::shared_lock lock{mutex_};
  return find_entry(key) != nullptr;
}

job_page job_store::list(const job_query& query) const {
  job_page page;
  const auto limit = std::clamp<std::size_t>(query.limit, 1, max_list_limit);
  const auto matches = [&](const stored_job& job) {
    return query.status.matches(job.facts.status) && (!query.type || job.facts.type == *query.type);
  };

  std::shared_lock lock{mutex_};
  const auto* index = &by_revision_;
  if (query.user_id) {
    const auto user = users_.find(*query.user_id);
    if (user == users_.end()) return page;
    index = &user->second.by_revision;
  }
  const auto end = query.before_revision ? index->lower_bound(*query.before_revision) : index->end();
  for (auto it = std::make_reverse_iterator(end); it != index->rend(); ++it) {
    if (!matches(*it->second)) continue;
    if (page.jobs.size() == limit) {
      page.next_cursor = page.jobs.back()->revision;
      break;
    }
    page.jobs.push_back(it->second);
  }
  return page;
}

std::optional<std::vector<std::shared_ptr<const job_event>>> job_store::history(
    const job_key& key, std::optional<std::int64_t> since_seq) const {
  std::shared_lock lock{mutex_};
  const auto* entry = find_entry(key);
  if (entry == nullptr) return std::nullopt;
  std::vector<std::shared_ptr<const job_event>> events;
  events.reserve(entry->history.size());
  for (const auto& event : entry->history) {
    if (!since_seq || event->seq > *since_seq) events.push_back(event);
  }
  return events;
}

job_stats job_store::stats(std::string_view user_id) const {
  job_stats stats;
  double progress_sum = 0;
  std::size_t with_progress = 0;

  std::shared_lock lock{mutex_};
  const auto user = users_.find(std::string{user_id});
  if (user == users_.end()) return stats;
  for (const auto& [revision, job] : user->second.by_revision) {
    ++stats.total;
    switch (job->facts.status) {
      case job_status::queued:
        ++stats.queued;
        if (job->notes.stalled) ++stats.stalled;
        break;
      case job_status::started:
      case job_status::in_progress:
        ++stats.active;
        if (job->notes.stalled) ++stats.stalled;
        if (job->facts.progress) {
          progress_sum += *job->facts.progress;
          ++with_progress;
        }
        break;
      case job_status::completed: ++stats.completed; break;
      case job_status::failed: ++stats.failed; break;
      case job_status::cancelled: ++stats.cancelled; break;
    }
  }
  if (with_progress > 0) stats.average_progress = progress_sum / static_cast<double>(with_progress);
  return stats;
}

status_counts job_store::counts_by_status() const {
  std::shared_lock lock{mutex_};
  return counts_;
}

std::size_t job_store::stalled_count() const {
  std::shared_lock lock{mutex_};
  return stalled_.size();
}

job_snapshot job_store::snapshot(const std::optional<std::string>& user_id) const {
  job_snapshot snapshot;
  std::shared_lock lock{mutex_};
  snapshot.revision = revision_;
  const auto* index = &by_revision_;
  if (user_id) {
    const auto user = users_.find(*user_id);
    if (user == users_.end()) return snapshot;
    index = &user->second.by_revision;
  }
  snapshot.jobs.reserve(index->size());
  for (auto it = index->rbegin(); it != index->rend(); ++it) snapshot.jobs.push_back(it->second);
  return snapshot;
}

change_feed job_store::changes_since(std::uint64_t revision,
                                     const std::optional<std::string>& user_id) const {
  change_feed feed;
  std::shared_lock lock{mutex_};
  feed.head_revision = revision_;
  feed.covered = revision >= log_floor_ && revision <= revision_;
  if (!feed.covered) return feed;
  auto it =
      std::upper_bound(change_log_.begin(), change_log_.end(), revision,
                       [](std::uint64_t rev, const job_change& change) { return rev < change.revision; });
  for (; it != change_log_.end(); ++it) {
    if (!user_id || it->key.user_id == *user_id) feed.changes.push_back(*it);
  }
  return feed;
}

std::uint64_t job_store::revision() const {
  std::shared_lock lock{mutex_};
  return revision_;
}

std::size_t job_store::size() const {
  std::shared_lock lock{mutex_};
  return jobs_.size();
}

std::size_t job_store::bytes() const {
  std::shared_lock lock{mutex_};
  return bytes_;
}

const job_store::job_entry* job_store::find_entry(const job_key& key) const {
  const auto it = jobs_.find(key);
  return it == jobs_.end() ? nullptr : &*it;
}

bool job_store::make_room(const job_key& key, std::vector<job_change>& evicted) {
  // Check the user's cap first: its eviction also frees a global slot.
  if (const auto user = users_.find(key.user_id);
      user != users_.end() && user->second.by_revision.size() >= limits_.jobs_per_user) {
    if (!evict_oldest(user->second.finished, user->second.stalled, nullptr, evicted)) return false;
  } else if (limits_.jobs_per_user == 0) {
    return false;
  }
  if (jobs_.size() >= limits_.max_jobs) {
    if (!evict_oldest(finished_, stalled_, nullptr, evicted)) return false;
  }
  return true;
}

void job_store::index(const std::shared_ptr<const stored_job>& job) {
  auto& user = users_[job->key.user_id];
  by_revision_.emplace(job->revision, job);
  user.by_revision.emplace(job->revision, job);
  if (is_terminal(job->facts.status)) {
    finished_.insert(job->revision);
    user.finished.insert(job->revision);
  }
  if (job->notes.stalled) {
    stalled_.insert(job->revision);
    user.stalled.insert(job->revision);
  }
  ++counts_[index_of(job->facts.status)];
}

// An update moves the job to its new revision in every index. The nodes are
// moved, not freed and allocated again, and the user's index stays.
void job_store::reindex(const stored_job& old, const std::shared_ptr<const stored_job>& job) {
  const auto move_node = [&](std::map<std::uint64_t, std::shared_ptr<const stored_job>>& index) {
    auto node = index.extract(old.revision);
    if (node.empty()) return index.emplace(job->revision, job), void();
    node.key() = job->revision;
    node.mapped() = job;
    index.insert(std::move(node));
  };
  const auto move_finished = [&](std::set<std::uint64_t>& finished) {
    auto node = finished.extract(old.revision);
    if (!is_terminal(job->facts.status)) return;
    if (node.empty()) return finished.insert(job->revision), void();
    node.value() = job->revision;
    finished.insert(std::move(node));
  };
  const auto move_stalled = [&](std::set<std::uint64_t>& stalled) {
    if (old.notes.stalled) stalled.erase(old.revision);
    if (job->notes.stalled) stalled.insert(job->revision);
  };
  auto& user = users_[job->key.user_id];
  move_node(by_revision_);
  move_node(user.by_revision);
  move_finished(finished_);
  move_finished(user.finished);
  move_stalled(stalled_);
  move_stalled(user.stalled);
  --counts_[index_of(old.facts.status)];
  ++counts_[index_of(job->facts.status)];
}

void job_store::unindex(const stored_job& job) {
  by_revision_.erase(job.revision);
  finished_.erase(job.revision);
  stalled_.erase(job.revision);
  if (const auto user = users_.find(job.key.user_id); user != users_.end()) {
    user->second.by_revision.erase(job.revision);
    user->second.finished.erase(job.revision);
    user->second.stalled.erase(job.revision);
    if (user->second.by_revision.empty()) users_.erase(user);
  }
  --counts_[index_of(job.facts.status)];
}

job_change job_store::erase(job_map::iterator it) {
  auto& entry = entry_of(it);
  unfront(entry);
  remove_bytes(entry.key().user_id, entry.current->json->size() + entry.history_bytes);
  unindex(*entry.current);
  job_change change{++revision_, entry.key(), nullptr};
  jobs_.erase(it);
  log_change(change);
  return change;
}

void job_store::log_change(const job_change& change) {
  change_log_.push_back(change);
  while (change_log_.size() > limits_.change_log_limit) {
    log_floor_ = change_log_.front().revision;
    change_log_.pop_front();
  }
}

}  // namespace progress::bridge
