#pragma once
// The bridge's view of every job: latest state, bounded history per job and a
// bounded log of recent changes. Readers get immutable snapshots
// (shared_ptr<const ...>) that stay valid after the store moves on, so the JSON
// of a state is built once and shared by every REST response and stream.
//
// Capacity rule (store_limits): when a NEW job would exceed `jobs_per_user`,
// the user's least recently updated finished (terminal) job is evicted to make
// room, or else the user's least recently changed stalled job; when it would
// exceed `max_jobs`, the same among all users' jobs. With no finished or
// stalled job to evict the new job is rejected (apply_outcome::over_capacity):
// running jobs are never dropped for newer ones. Updates of jobs already
// stored are never refused for capacity. Evictions and TTL expiries are
// removals like any other: they get a revision and a tombstone in the change
// log.
//
// Annotations (job_annotations): what the bridge adds to a job, served with
// it. annotate() changes them like an update changes the state (a new
// revision, in the change log, but no history event); an accepted update
// clears `stalled` and keeps `cancel_requested` until the job ends.
//
// Byte budgets (store_limits, job_store_budgets.cpp): a job counts the JSON
// text of its latest state and of each history event (the latest state is also
// the newest event and counts twice: a margin for the facts and indexes it is held with). When a job's
// history passes `history_bytes_per_job` its oldest events go. When a user's
// jobs pass `bytes_per_user`, or all jobs pass `max_bytes`, the oldest history
// events of that user's (or anyone's) jobs go first, never a job's latest
// state; then the least recently updated finished jobs are evicted, then the
// least recently changed stalled ones; then a new job is refused
// (over_capacity), while an update of a stored job is accepted.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/container/options.hpp>
#include <boost/container/vector.hpp>

#include "job_annotations.hpp"
#include "job_facts.hpp"
#include "job_key_hash.hpp"
#include "progress/protocol/job_state.hpp"
#include "progress/protocol/job_status.hpp"
#include "progress/protocol/topic.hpp"
#include "status_filter.hpp"

namespace progress::bridge {

struct store_limits {
  std::size_t history_per_job = 100;  // events kept per job; the oldest goes first
  std::size_t jobs_per_user = 1000;
  std::size_t max_jobs = 200000;
  std::chrono::milliseconds finished_ttl = std::chrono::hours{24};  // terminal jobs are removed after this
  std::chrono::milliseconds stalled_ttl = std::chrono::hours{24};   // and jobs stalled for this long
  std::size_t change_log_limit = 10000;  // recent changes kept for resuming streams; the oldest goes first
  // Byte budgets (see the top of this file).
  std::size_t history_bytes_per_job = std::size_t{1} << 20;  // 1 MiB of one job's history
  std::size_t bytes_per_user = std::size_t{64} << 20;        // 64 MiB of one user's jobs
  std::size_t max_bytes = std::size_t{1} << 30;              // 1 GiB of all jobs
};

// One accepted state of a job, as served.
struct stored_job {
  job_key key;
  job_facts facts;                 // what the bridge reads of the state; the rest is in `json`
  std::int64_t updated_at_ms = 0;  // when the bridge received it (ms since the Unix epoch)
  std::uint64_t revision = 0;      // the store-wide revision of this change
  // The state's JSON (userId and jobId from the topic) + "updatedAt", then the
  // annotations: serialized once when accepted, the text of its history event.
  std::shared_ptr<const std::string> json;
  job_annotations notes;
  // Length of `json` without the annotations (all of it when there are none).
  std::uint32_t plain_size = 0;

  // The state as the worker's protocol has it plus "updatedAt": `json` without the annotations.
  [[nodiscard]] std::string plain_json() const;
};

// One entry of a job's history.
struct job_event {
  // Per-job event number assigned by the bridge, from 1, increasing for the
  // whole life of the job in this store (a new attempt resets the history but
  // not the numbering), so `since_seq` cursors keep working. Not the worker's seq.
  std::int64_t seq = 0;
  std::uint64_t revision = 0;
  std::int64_t updated_at_ms = 0;
  // The stored_job it came from serves this text (shared_json): one block holds
  // both the event and the state's JSON.
  std::string json;
};

// The JSON text of `event`, shared with it.
[[nodiscard]] inline std::shared_ptr<const std::string> shared_json(
    const std::shared_ptr<const job_event>& event) {
  return {event, &event->json};
}

// One entry of the change log.
struct job_change {
  std::uint64_t revision = 0;
  job_key key;
  std::shared_ptr<const stored_job> job;  // null: the job was removed (tombstone)
};

enum class apply_outcome {
  accepted,        // newer state stored
  new_attempt,     // a higher attempt stored; the job's history restarted
  removed,         // the job is gone
  duplicate,       // same attempt and seq as the stored state: nothing changed
  stale,           // older than the stored state: nothing changed
  after_terminal,  // the stored attempt already ended: nothing changed
  not_found,       // removal of a job the store does not hold
  over_capacity,   // a new job with no room and nothing finished to evict (see top of file)
  // A job the store does not hold, in a terminal state whose worker timestamp
  // is older than finished_ttl: it would only be expired again. Retained
  // messages of long-finished jobs are replayed on every (re)subscribe, so
  // without this rule each bridge restart would serve them for another TTL.
  expired,
};

[[nodiscard]] std::string_view to_string(apply_outcome outcome) noexcept;

// True for the outcomes that changed the store.
[[nodiscard]] constexpr bool is_change(apply_outcome outcome) noexcept {
  return outcome == apply_outcome::accepted || outcome == apply_outcome::new_attempt ||
         outcome == apply_outcome::removed;
}

// A job whose oldest history events a change dropped.
struct history_trim {
  job_key key;
  std::int64_t first_seq = 0;  // seq of the oldest event the job keeps
};

struct apply_result {
  apply_outcome outcome = apply_outcome::not_found;
  job_key key;
  // accepted/new_attempt: the new state. duplicate/stale/after_terminal: the
  // state kept. removed/not_found/over_capacity: null.
  std::shared_ptr<const stored_job> job;
  std::uint64_t revision = 0;  // revision of this change; 0 when nothing changed
  // Jobs removed to make room for this one (capacity rule), oldest revision first.
  std::vector<job_change> evicted;
  // accepted/new_attempt: the history event this change added.
  std::shared_ptr<const job_event> event;
  // Jobs whose oldest history events this change dropped (this job's own, for
  // the history limits or a new attempt, and other jobs' for the byte budgets).
  std::vector<history_trim> trimmed;
};

// A job as saved by an earlier run of the bridge, for job_store::restore.
struct restored_job {
  job_key key;
  job_state state;
  std::int64_t updated_at_ms = 0;
  std::uint64_t revision = 0;
  std::shared_ptr<const std::string> json;  // the last event's text (shared_json) unless annotated
  std::vector<std::shared_ptr<const job_event>> history;  // oldest first; the last is the state itself
};

inline constexpr std::size_t default_list_limit = 50;
inline constexpr std::size_t max_list_limit = 500;

struct job_query {
  std::optional<std::string> user_id;  // nullopt: all users
  status_filter status;
  std::optional<std::string> type;
  std::size_t limit = default_list_limit;  // clamped to 1..max_list_limit
  // Only jobs whose current revision is below this (the previous page's
  // next_cursor). Jobs updated after the first page move to the front, so
  // paging on never returns a job twice.
  std::optional<std::uint64_t> before_revision;
};

struct job_page {
  std::vector<std::shared_ptr<const stored_job>> jobs;  // newest first (revision descending)
  std::optional<std::uint64_t> next_cursor;             // set when more jobs match
};

struct job_stats {
  std::size_t total = 0;
  std::size_t queued = 0;
  std::size_t active = 0;  // started + in_progress
  std::size_t completed = 0;
  std::size_t failed = 0;
  std::size_t cancelled = 0;
  std::size_t stalled = 0;  // unfinished jobs marked stalled (counted under their status too)
  // Mean progress of the active (started, in_progress) jobs that report one;
  // nothing when none does. Finished and queued jobs would only skew it.
  std::optional<double> average_progress;
};

struct change_feed {
  // False when the log no longer holds every change after the requested
  // revision (or the revision is ahead of the store): the reader must resync
  // from a full listing.
  bool covered = false;
  std::uint64_t head_revision = 0;  // the store's revision when read
  std::vector<job_change> changes;  // after the requested revision, oldest first
};

// Every current job of a scope and the revision it is consistent with: a
// stream sends it, then the changes after `revision`.
struct job_snapshot {
  std::vector<std::shared_ptr<const stored_job>> jobs;  // newest first (revision descending)
  std::uint64_t revision = 0;
};

using status_counts = std::array<std::size_t, job_status_count>;  // indexed by job_status

class job_store {
 public:
  explicit job_store(store_limits limits = {});

  job_store(const job_store&) = delete;
  job_store& operator=(const job_store&) = delete;

  // Applies a validated update received at `now_ms`, ordered by decide_update.
  apply_result apply(const job_key& key, job_state incoming, std::int64_t now_ms);
  // Removes a job (an empty retained payload); a removal keeps no time, only its revision.
  apply_result remove(const job_key& key);
  // Removes finished jobs last updated at least finished_ttl before `now_ms`,
  // and jobs stalled since at least stalled_ttl before it, oldest first, and
  // returns the removals.
  std::vector<job_change> expire(std::int64_t now_ms);
  // Changes the annotations of a job that has not ended as `edit` changes a
  // copy of them: accepted (a new revision with the same state), duplicate
  // (`edit` changed nothing), after_terminal or not_found (nothing changed).
  apply_result annotate(const job_key& key, const std::function<void(job_annotations&)>& edit);
  // Puts back a job saved by an earlier run, with its revision, before the
  // store serves: jobs come in ascending revision order, each above the
  // store's revision. Capacity rules and byte budgets apply as to a new job.
  apply_result restore(restored_job job);
  // The next change gets a revision above `revision` (an earlier run may have
  // used every revision up to it).
  void skip_revisions_to(std::uint64_t revision);

  [[nodiscard]] std::shared_ptr<const stored_job> find(const job_key& key) const;
  [[nodiscard]] bool contains(const job_key& key) const;
  // Walks one user's index (or the global one) newest first; status and type
  // filters skip entries, so a rare match may cost a walk of the whole index.
  [[nodiscard]] job_page list(const job_query& query) const;
  // Events with seq > since_seq, oldest first; nothing when the job is unknown.
  [[nodiscard]] std::optional<std::vector<std::shared_ptr<const job_event>>> history(
      const job_key& key, std::optional<std::int64_t> since_seq = std::nullopt) const;
  [[nodiscard]] job_stats stats(std::string_view user_id) const;
  [[nodiscard]] status_counts counts_by_status() const;
  [[nodiscard]] std::size_t stalled_count() const;
  // Every job of one user (or of all users), taken atomically with the revision.
  [[nodiscard]] job_snapshot snapshot(const std::optional<std::string>& user_id = std::nullopt) const;
  // Changes after `revision`, optionally of one user only.
  [[nodiscard]] change_feed changes_since(std::uint64_t revision,
                                          const std::optional<std::string>& user_id = std::nullopt) const;

  [[nodiscard]] std::uint64_t revision() const;
  // Random per store instance: revisions of another instance (an earlier run,
  // another replica) are meaningless here, so cursors carry the epoch too.
  [[nodiscard]] std::uint64_t epoch() const noexcept { return epoch_; }
  [[nodiscard]] std::size_t size() const;
  // Bytes held by every job together, as the byte budgets count them.
  [[nodiscard]] std::size_t bytes() const;

 private:
  // Found by the key of its current state, which every state of the job
  // shares: the map holds no copy of it (a million jobs, docs/benchmarks.md S7).
  // The rest of an entry changes in place (entry_of).
  struct job_entry {
    std::shared_ptr<const stored_job> current;  // never null in the map
    // Oldest first; never empty in the map (the newest event always stays).
    // A vector, not a deque: a deque takes 600 bytes before its first event,
    // and most jobs hold few events. Its size in 32 bits: the entry fits a
    // 64-byte heap block.
    boost::container::vector<std::shared_ptr<const job_event>, void,
                             boost::container::vector_options_t<boost::container::stored_size<std::uint32_t>>>
        history;
    std::size_t history_bytes = 0;  // JSON of every event in `history`

    [[nodiscard]] const job_key& key() const noexcept { return current->key; }
    // The numbering goes on across attempts, from the newest event kept.
    [[nodiscard]] std::int64_t next_seq() const noexcept {
      return history.empty() ? 1 : history.back()->seq + 1;
    }
  };
  // Jobs with more than one history event, by the revision of their oldest:
  // where the oldest event that a budget may drop is found.
  using front_index = std::set<std::pair<std::uint64_t, job_entry*>>;
  using front_key = front_index::value_type;
  // Jobs of one user by current revision, so one user's listing never scans others.
  struct user_index {
    std::map<std::uint64_t, std::shared_ptr<const stored_job>> by_revision;
    std::set<std::uint64_t> finished;  // revisions of terminal jobs, oldest first
    std::set<std::uint64_t> stalled;   // revisions of stalled jobs, oldest first
    front_index fronts;
    std::size_t bytes = 0;
  };

  using job_map = set_by_job_key<job_entry>;

  // An entry of jobs_, to change: what a change of it may not touch is its key.
  [[nodiscard]] static job_entry& entry_of(job_map::const_iterator it) { return const_cast<job_entry&>(*it); }

  [[nodiscard]] const job_entry* find_entry(const job_key& key) const;
  bool make_room(const job_key& key, std::vector<job_change>& evicted);
  void index(const std::shared_ptr<const stored_job>& job);
  void reindex(const stored_job& old, const std::shared_ptr<const stored_job>& job);
  void unindex(const stored_job& job);
  job_change erase(job_map::iterator it);
  void log_change(const job_change& change);
  // Byte budgets (job_store_budgets.cpp).
  void add_bytes(const std::string& user_id, std::size_t bytes);
  void remove_bytes(const std::string& user_id, std::size_t bytes);
  void unfront(job_entry& entry);
  void refront(job_entry& entry);
  // The entry's key in the front indexes: set while it holds two events or more.
  [[nodiscard]] static std::optional<front_key> front_of(job_entry& entry);
  // Moves the entry in the front indexes from `before` (its front_of() before a change), if it changed.
  void move_front(job_entry& entry, const std::optional<front_key>& before);
  void push_event(job_entry& entry, std::shared_ptr<const job_event> event);
  void trim_history(job_entry& entry, std::vector<history_trim>& trimmed);
  void drop_front(job_entry& entry);
  bool drop_oldest_event(front_index& fronts, std::vector<history_trim>& trimmed);
  bool evict_oldest(const std::set<std::uint64_t>& finished, const std::set<std::uint64_t>& stalled,
                    const job_entry* keep, std::vector<job_change>& evicted);
  bool make_byte_room(const std::string& user_id, std::size_t needed, const job_entry* keep,
                      apply_result& result);

  const store_limits limits_;
  const std::uint64_t epoch_;
  mutable std::shared_mutex mutex_;
  std::uint64_t revision_ = 0;
  job_map jobs_;
  std::unordered_map<std::string, user_index> users_;
  std::map<std::uint64_t, std::shared_ptr<const stored_job>> by_revision_;  // all jobs
  std::set<std::uint64_t> finished_;  // revisions of all terminal jobs, oldest first
  std::set<std::uint64_t> stalled_;   // revisions of all stalled jobs, oldest first
  front_index fronts_;                // of all jobs
  std::size_t bytes_ = 0;             // of all jobs
  status_counts counts_{};
  std::deque<job_change> change_log_;
  std::uint64_t log_floor_ = 0;  // every change after this revision is in change_log_
};

}  // namespace progress::bridge
