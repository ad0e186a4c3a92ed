#include "journal.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include "journal_db.hpp"

namespace progress::bridge {
namespace {

constexpr unsigned revision_bits_per_run = 40;
constexpr auto first_retry = std::chrono::seconds{1};
constexpr auto last_retry = std::chrono::seconds{30};
constexpr int writer_niceness = 10;

}  // namespace

journal::journal(journal_options options, job_store& store, metrics& metrics)
    : options_{std::move(options)},
      store_{store},
      metrics_{metrics},
      lock_{options_.dir},
      queue_{options_.limits} {
  try {
    db_ = std::make_unique<journal_db>(file(), options_.max_bytes, options_.rewrite_floor);
  } catch (const sqlite::error& error) {
    throw std::runtime_error(error.what());
  }
  metrics_.set_journal_healthy(true);
  metrics_.on_scrape(
      [this](bridge::metrics& m) { m.set_journal_backlog(queue_.backlog() + writing_.load()); });
}

journal::~journal() {
  stop();
}

std::filesystem::path journal::file() const {
  return options_.dir / "journal.db";
}

ledger_state journal::load() {
  const auto started = std::chrono::steady_clock::now();
  const auto run = db_->begin_run();
  // Rows to delete are collected while the jobs are read, and deleted after.
  std::vector<job_key> gone;
  std::vector<history_trim> trimmed;
  std::size_t dropped = 0;  // over today's limits
  std::size_t broken = 0;
  db_->load_jobs(
      [&](restored_job saved) {
        const auto key = saved.key;
        apply_result result;
        try {
          result = store_.restore(std::move(saved));
        } catch (const std::invalid_argument&) {
          result.outcome = apply_outcome::over_capacity;
        }
        for (const auto& evicted : result.evicted) gone.push_back(evicted.key);
        trimmed.insert(trimmed.end(), result.trimmed.begin(), result.trimmed.end());
        dropped += result.evicted.size();
        if (result.outcome != apply_outcome::accepted) {
          ++dropped;
          gone.push_back(key);
        }
      },
      [&](const job_key& key) {
        ++broken;
        gone.push_back(key);
      });
  if (!gone.empty() || !trimmed.empty()) {
    journal_batch cleanup;
    for (auto& key : gone)
      cleanup.writes.push_back(job_write{job_write::kind::remove, std::move(key), nullptr, nullptr, 0});
    for (auto& trim : trimmed) {
      cleanup.writes.push_back(
          job_write{job_write::kind::trim, std::move(trim.key), nullptr, nullptr, trim.first_seq});
    }
    db_->write(cleanup, store_);
  }
  store_.skip_revisions_to(std::max(run << revision_bits_per_run, store_.revision()));

  ledger_state ledger;
  ledger.store_id = db_->store_id();
  ledger.acknowledged = db_->acknowledged_marker();
  ledger.removals = db_->removals();
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  spdlog::info("journal {}: restored {} jobs in {} ms (run {})", file().string(), store_.size(), took.count(),
               run);
  if (broken > 0) spdlog::warn("journal: {} saved jobs were unreadable and are gone", broken);
  if (dropped > 0) spdlog::warn("journal: {} saved jobs did not fit today's limits and are gone", dropped);
  return ledger;
}

void journal::start() {
  writer_ = std::thread{[this] {
    // Serving comes first: on a busy host the writer takes the CPU the event
    // loops leave (its queue's bounds say what happens if it falls behind).
    // Linux gives each thread its own nice value.
    if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), writer_niceness) != 0) {
      spdlog::debug("journal: the writer keeps the default priority");
    }
    run();
  }};
}

void journal::record(const apply_result& result) {
  queue_.push(result);
}

void journal::marker_acknowledged(const marker_record& record) {
  queue_.push_marker(record);
}

void journal::removal_remembered(const removal_record& record) {
  queue_.push_ledger(ledger_op{true, record});
}

void journal::removal_forgotten(const job_key& key) {
  queue_.push_ledger(ledger_op{false, removal_record{key, 0, 0, {}}});
}

void journal::stop() {
  {
    std::lock_guard lock{mutex_};
    if (stopping_) return;
    stopping_ = true;
  }
  queue_.close();
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void journal::run() {
  auto retry = first_retry;
  while (true) {
    auto batch = queue_.take(options_.batch, options_.linger);
    if (batch.empty()) return;  // closed and drained
    writing_ = batch.everything ? store_.size() : batch.size();
    try {
      write(batch);
      writing_ = 0;
      retry = first_retry;
      continue;
    } catch (const std::exception& error) {
      writing_ = 0;
      std::unique_lock lock{mutex_};
      if (stopping_) {
        spdlog::error("journal {}: the last changes could not be written: {}", file().string(), error.what());
        return;
      }
      queue_.put_back(std::move(batch));
      metrics_.journal_write_failed();
      metrics_.set_journal_healthy(false);
      writing_ok_ = false;
      error_log_.log("journal_write", spdlog::level::err,
                     "journal {}: write failed, serving from memory and retrying: {}", file().string(),
                     error.what());
      wake_.wait_for(lock, retry, [&] { return stopping_; });
    }
    retry = std::min<std::chrono::seconds>(retry * 2, last_retry);
  }
}

void journal::write(journal_batch& batch) {
  const auto rewrites = db_->rewrites();
  const auto written = db_->write(batch, store_);
  metrics_.journal_written(written);
  if (db_->rewrites() != rewrites) metrics_.journal_rewritten();
  if (batch.everything) metrics_.journal_resynced("all", store_.size());
  if (!batch.dirty.empty()) metrics_.journal_resynced("jobs", batch.dirty.size());
  if (!writing_ok_) {
    writing_ok_ = true;
    metrics_.set_journal_healthy(true);
    spdlog::info("journal {}: writing again", file().string());
  }
}

}  // namespace progress::bridge
