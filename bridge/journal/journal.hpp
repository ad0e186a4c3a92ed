#pragma once
// The bridge's durable store: every change the job store makes, and the
// ingest's broker ledger, written to SQLite (journal_db) in the data directory
// by a thread of its own. The store stays in memory and serves every read; the
// journal is read once, at start, so that a restarted bridge (also after
// kill -9) serves every job's state and timeline as before.
//
// Hot path: record() runs on the hub strand for each change and only pushes
// shared pointers into the journal_queue (its bounds and overflow rule are
// there). The writer thread takes what waits `linger` (250 ms) after the first
// change arrived, or as soon as `batch` (5000) changes wait, and writes it in
// one transaction. The writer runs at nice 10: on a busy host the event loops
// that serve clients and read the broker come first.
//
// A failed transaction (disk full, I/O error, the database's size cap): the
// batch goes back to the queue, its jobs as dirty ones; the failure is logged
// (at most a line per 10 s), counted in progress_bridge_journal_write_errors_total,
// and progress_bridge_journal_healthy drops to 0. The writer tries again after
// 1 s, doubling up to 30 s, and catches up by copying the dirty jobs from the
// store. The bridge keeps serving from memory and /readyz is not affected: the
// journal only matters at the next start.
//
// Start: the constructor takes the data directory's lock, opens the database
// and counts a new run; load() puts the saved jobs back into the store, before
// the ingest connects, and makes the store's next revisions start above any an
// earlier run may have used: run << 40 (2^40 changes per run).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include "broker_ledger.hpp"
#include "data_dir.hpp"
#include "job_store.hpp"
#include "journal_queue.hpp"
#include "metrics.hpp"
#include "rate_limited_log.hpp"

namespace progress::bridge {

class journal_db;

struct journal_options {
  std::filesystem::path dir;
  std::uint64_t max_bytes = 0;  // cap of the database file; 0: none
  journal_limits limits;
  std::chrono::milliseconds linger{250};
  std::size_t batch = 5000;
  // The log is rewritten from the store once it holds more than this and
  // twice the store's bytes (journal_db.hpp).
  std::uint64_t rewrite_floor = std::uint64_t{64} << 20;
};

class journal final : public broker_ledger {
 public:
  // Throws std::runtime_error (directory, lock, database) with the reason.
  journal(journal_options options, job_store& store, metrics& metrics);
  ~journal() override;
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  // Once, before start(): restores the store and returns the ingest's ledger.
  ledger_state load();
  void start();
  // Hub strand: a change the store made.
  void record(const apply_result& result);
  // Writes what waits and joins the writer. Idempotent.
  void stop();

  [[nodiscard]] std::filesystem::path file() const;

  void marker_acknowledged(const marker_record& record) override;
  void removal_remembered(const removal_record& record) override;
  void removal_forgotten(const job_key& key) override;

 private:
  void run();
  void write(journal_batch& batch);

  const journal_options options_;
  job_store& store_;
  metrics& metrics_;
  data_dir_lock lock_;
  std::unique_ptr<journal_db> db_;
  journal_queue queue_;
  rate_limited_log error_log_{1, std::chrono::seconds{10}};
  std::thread writer_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool writing_ok_ = true;               // writer thread only
  std::atomic<std::size_t> writing_{0};  // changes in the transaction being written
};

}  // namespace progress::bridge
