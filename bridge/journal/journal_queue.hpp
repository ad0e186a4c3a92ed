#pragma once
// The changes on their way from the hub strand to the journal's writer thread.
// push() is all the hub strand pays for durability: a few shared pointers into
// a deque under a mutex; the JSON is the store's own, never copied.
//
// Bounds, and the rule when they are reached:
// - at most `max_changes` writes, holding at most `max_bytes` of JSON, wait in
//   order. One more, and the queue stops keeping them: the jobs they touch
//   become *dirty*, a set of keys, and the writer later copies each dirty job
//   as the store holds it then (latest state and whole timeline). Nothing the
//   store still holds is lost; events the store dropped meanwhile (history
//   limits) are simply never written.
// - at most `max_dirty_jobs` dirty jobs; one more, and the writer copies the
//   whole store instead, in one transaction.
// - at most `max_ledger_ops` remembered or forgotten removals wait; beyond, the
//   oldest are dropped (counted), and a restart may not know those removals.
//   The latest acknowledged state marker takes one slot of its own.
// A batch that cannot be written (disk full, I/O error) is put back the same
// way: its jobs become dirty, its ledger operations wait again.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_set>
#include <vector>

#include "broker_ledger.hpp"
#include "job_store.hpp"

namespace progress::bridge {

struct journal_limits {
  std::size_t max_changes = 10'000;
  std::size_t max_bytes = std::size_t{64} << 20;
  std::size_t max_dirty_jobs = 100'000;
  std::size_t max_ledger_ops = 10'000;
};

// One change of one job, as the store made it.
struct job_write {
  enum class kind { upsert, trim, remove };
  kind what = kind::upsert;
  job_key key;
  std::shared_ptr<const stored_job> job;    // upsert: the new state
  std::shared_ptr<const job_event> event;   // upsert: its history event
  std::int64_t first_seq = 0;               // trim: events before it go
};

struct ledger_op {
  bool remember = true;  // false: forget the removal of record.key
  removal_record record;
};

// Everything one transaction writes.
struct journal_batch {
  std::vector<job_write> writes;  // in the order the store made them
  job_key_set dirty;              // copy these jobs from the store as they are now
  bool everything = false;        // copy the whole store
  std::optional<marker_record> marker;
  std::vector<ledger_op> ledger;

  [[nodiscard]] bool empty() const noexcept {
    return writes.empty() && dirty.empty() && !everything && !marker && ledger.empty();
  }
  // Changes in it, as the backlog counts them (the whole store aside).
  [[nodiscard]] std::size_t size() const noexcept {
    return writes.size() + dirty.size() + ledger.size() + (marker ? 1 : 0);
  }
};

class journal_queue {
 public:
  explicit journal_queue(journal_limits limits = {});

  // The hub strand's side.
  void push(const apply_result& result);
  void push_marker(const marker_record& record);
  void push_ledger(ledger_op op);

  // The writer's side: waits until something waits and then until `max_batch`
  // writes wait, `linger` has passed since the first arrived, or the queue is
  // closed; returns everything waiting (empty once closed and drained).
  journal_batch take(std::size_t max_batch, std::chrono::milliseconds linger);
  // A batch that could not be written comes back (see the top of the file).
  void put_back(journal_batch batch);
  // take() returns at once from now on.
  void close();

  // Writes, dirty jobs and ledger operations waiting (the metric's gauge).
  [[nodiscard]] std::size_t backlog() const;
  [[nodiscard]] std::uint64_t overflows() const;       // times the writes turned into dirty jobs
  [[nodiscard]] std::uint64_t ledger_dropped() const;  // ledger operations dropped

 private:
  void add_write(job_write write, std::size_t bytes);
  void make_dirty(const job_key& key);
  void spill();  // writes -> dirty keys
  void add_ledger(ledger_op op);
  [[nodiscard]] bool has_work() const;

  const journal_limits limits_;
  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<job_write> writes_;
  std::size_t bytes_ = 0;
  job_key_set dirty_;
  bool everything_ = false;
  std::optional<marker_record> marker_;
  std::deque<ledger_op> ledger_;
  std::chrono::steady_clock::time_point first_arrival_{};
  std::size_t wake_at_ = 1;  // the writer's batch: a full one wakes it
  bool closed_ = false;
  std::uint64_t overflows_ = 0;
  std::uint64_t ledger_dropped_ = 0;
};

}  // namespace progress::bridge
