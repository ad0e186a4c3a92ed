#pragma once
// The journal's SQLite database, <data dir>/journal.db, in WAL mode:
//
//   meta(name, value)            schema version, store id, run, last acknowledged marker
//   log(id, kind, user_id, job_id, seq, revision, updated_at, json)
//                                every change of the store, appended in the order
//                                it was made: a history event (kind 0, with its
//                                JSON), a trim (kind 1: events before `seq` go)
//                                or a removal (kind 2)
//   removals(user_id, job_id, revision, removed_at, last)      removals the ingest remembers
//
// Why a log: appending a row costs a write at the end of one B-tree, where
// updating a row per job and an index of events touched a random page of each
// for every change (ten times the CPU per change, docs/benchmarks.md). Replaying
// it at start gives each job its timeline again: a trim drops events, a removal
// the job, an event that is not newer than the job's last one is a copy of it.
//
// Rewrite (compaction): when the log passes twice the bytes the store holds,
// and at least `rewrite_floor` (journal_options: 64 MiB), the next transaction
// replaces the whole log by the store's jobs as they are then. So does a
// transaction that could not append for a full disk or database: it is tried
// again at once as a rewrite.
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
  journal_db(const std::filesystem::path& file, std::uint64_t max_bytes, std::uint64_t rewrite_floor);
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
  // a state (its latest event is unreadable) is passed to `broken`.
  void load_jobs(const std::function<void(restored_job)>& job,
                 const std::function<void(const job_key&)>& broken);

  // Writes one batch in one transaction; reads the store for dirty jobs and for
  // a rewrite. Returns the number of job writes; throws sqlite::error (nothing written).
  std::size_t write(const journal_batch& batch, const job_store& store);
  // Rewrites of the log so far.
  [[nodiscard]] std::uint64_t rewrites() const noexcept { return rewrites_; }

 private:
  struct statements;
  class appender;
  void migrate_from_tables();
  std::size_t write_batch(const journal_batch& batch, const job_store& store, bool rewrite);
  bool wants_rewrite(const job_store& store) const;
  void apply(const ledger_op& op);

  std::unique_ptr<sqlite::database> db_;
  std::unique_ptr<statements> sql_;
  std::string store_id_;
  std::uint64_t rewrite_floor_;
  std::uint64_t log_bytes_ = 0;  // its rows' JSON and a fixed charge per row
  std::uint64_t rewrites_ = 0;
};

}  // namespace progress::bridge
