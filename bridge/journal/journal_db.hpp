#pragma once
// The journal's SQLite database, <data dir>/journal.db, in WAL mode:
//
//   meta(name, value)            schema version, store id, run, last acknowledged marker
//   jobs(user_id, job_id, revision, latest_seq)
//   events(user_id, job_id, seq, revision, updated_at, json)   every job's timeline;
//                                the event with latest_seq is the job's state
//   removals(user_id, job_id, revision, removed_at, last)      removals the ingest remembers
//
// synchronous=NORMAL: a committed transaction survives the process being
// killed; after a power loss the last transactions may be missing.
//
// Used by one thread at a time: load() before the writer starts, then only the
// writer thread.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker_ledger.hpp"
#include "job_store.hpp"
#include "journal_queue.hpp"
#include "sqlite.hpp"

namespace progress::bridge {

class journal_db {
 public:
  // Opens or creates the database; `max_bytes` caps its size (0: no cap),
  // past which writes fail like on a full disk. Throws sqlite::error.
  journal_db(const std::filesystem::path& file, std::uint64_t max_bytes);
  ~journal_db();
  journal_db(const journal_db&) = delete;
  journal_db& operator=(const journal_db&) = delete;

  // Counts this start as a new run and returns its number (1 for a new database).
  std::uint64_t begin_run();
  // Random, made once with the database.
  [[nodiscard]] const std::string& store_id() const noexcept { return store_id_; }
  [[nodiscard]] std::optional<marker_record> acknowledged_marker();
  [[nodiscard]] std::vector<removal_record> removals();

  // Every saved job, in ascending revision order. A job whose rows do not make
  // a state (the latest event is missing or unreadable) is passed to `broken`.
  void load_jobs(const std::function<void(restored_job)>& job, const std::function<void(const job_key&)>& broken);

  // Writes one batch in one transaction; reads the store for dirty jobs.
  // Returns the number of job writes; throws sqlite::error (nothing written).
  std::size_t write(const journal_batch& batch, const job_store& store);
  // Deletes a job's rows (jobs not restored at start).
  void delete_job(const job_key& key);
  void trim_job(const job_key& key, std::int64_t first_seq);

 private:
  struct statements;
  void upsert(const job_key& key, const stored_job& job, const job_event& event);
  void put_job(const job_key& key, std::uint64_t revision, std::int64_t latest_seq);
  void put_event(const job_key& key, const job_event& event);
  void copy_job(const job_key& key, const job_store& store);
  void apply(const ledger_op& op);

  std::unique_ptr<sqlite::database> db_;
  std::unique_ptr<statements> sql_;
  std::string store_id_;
};

}  // namespace progress::bridge
