#include "journal_queue.hpp"

#include <algorithm>
#include <utility>

namespace progress::bridge {

journal_queue::journal_queue(journal_limits limits) : limits_{limits} {}

void journal_queue::push(const apply_result& result) {
  std::vector<std::pair<job_write, std::size_t>> writes;
  for (const auto& evicted : result.evicted) {
    writes.push_back({job_write{job_write::kind::remove, evicted.key, nullptr, nullptr, 0}, 0});
  }
  if (result.outcome == apply_outcome::removed) {
    writes.push_back({job_write{job_write::kind::remove, result.key, nullptr, nullptr, 0}, 0});
  } else if (is_change(result.outcome) && result.job && result.event) {
    writes.push_back({job_write{job_write::kind::upsert, result.key, result.job, result.event, 0},
                      result.event->json.size()});
  }
  for (const auto& trim : result.trimmed) {
    writes.push_back({job_write{job_write::kind::trim, trim.key, nullptr, nullptr, trim.first_seq}, 0});
  }
  if (writes.empty()) return;
  // The writer is woken only when it has something to do at once: the first
  // change of a batch, a full batch, or jobs turned dirty. Not once per change.
  bool wake = false;
  {
    std::lock_guard lock{mutex_};
    if (closed_) return;
    const bool idle = !has_work();
    const bool spilled = !dirty_.empty() || everything_;
    if (idle) first_arrival_ = std::chrono::steady_clock::now();
    for (auto& [write, bytes] : writes) add_write(std::move(write), bytes);
    wake = idle || writes_.size() >= wake_at_ || (!spilled && (!dirty_.empty() || everything_));
  }
  if (wake) arrived_.notify_one();
}

void journal_queue::push_marker(const marker_record& record) {
  bool idle = false;
  {
    std::lock_guard lock{mutex_};
    if (closed_) return;
    idle = !has_work();
    if (idle) first_arrival_ = std::chrono::steady_clock::now();
    marker_ = record;
  }
  if (idle) arrived_.notify_one();
}

void journal_queue::push_ledger(ledger_op op) {
  bool idle = false;
  {
    std::lock_guard lock{mutex_};
    if (closed_) return;
    idle = !has_work();
    if (idle) first_arrival_ = std::chrono::steady_clock::now();
    add_ledger(std::move(op));
  }
  if (idle) arrived_.notify_one();
}

// Callers hold the mutex.
void journal_queue::add_write(job_write write, std::size_t bytes) {
  if (everything_) return;
  if (!dirty_.empty()) return make_dirty(write.key);
  if (writes_.size() + 1 > limits_.max_changes || bytes_ + bytes > limits_.max_bytes) {
    ++overflows_;
    spill();
    return make_dirty(write.key);
  }
  writes_.push_back(std::move(write));
  bytes_ += bytes;
}

void journal_queue::spill() {
  for (const auto& write : writes_) make_dirty(write.key);
  writes_.clear();
  bytes_ = 0;
}

void journal_queue::make_dirty(const job_key& key) {
  if (everything_) return;
  dirty_.insert(key);
  if (dirty_.size() > limits_.max_dirty_jobs) {
    dirty_.clear();
    everything_ = true;
  }
}

void journal_queue::add_ledger(ledger_op op) {
  if (ledger_.size() >= limits_.max_ledger_ops) {
    ledger_.pop_front();
    ++ledger_dropped_;
  }
  ledger_.push_back(std::move(op));
}

bool journal_queue::has_work() const {
  return !writes_.empty() || !dirty_.empty() || everything_ || marker_ || !ledger_.empty();
}

journal_batch journal_queue::take(std::size_t max_batch, std::chrono::milliseconds linger) {
  std::unique_lock lock{mutex_};
  wake_at_ = std::max<std::size_t>(max_batch, 1);
  arrived_.wait(lock, [&] { return closed_ || has_work(); });
  // Let a batch fill: fewer, larger transactions.
  arrived_.wait_until(lock, first_arrival_ + linger, [&] {
    return closed_ || writes_.size() >= max_batch || !dirty_.empty() || everything_;
  });
  journal_batch batch;
  batch.writes.swap(writes_);
  bytes_ = 0;
  batch.dirty.swap(dirty_);
  batch.everything = std::exchange(everything_, false);
  batch.marker = std::exchange(marker_, std::nullopt);
  batch.ledger.assign(std::make_move_iterator(ledger_.begin()), std::make_move_iterator(ledger_.end()));
  ledger_.clear();
  return batch;
}

void journal_queue::put_back(journal_batch batch) {
  {
    std::lock_guard lock{mutex_};
    if (!has_work()) first_arrival_ = std::chrono::steady_clock::now();
    // What arrived meanwhile is newer: it stays, and everything goes through the dirty set.
    if (batch.everything) {
      everything_ = true;
      dirty_.clear();
      writes_.clear();
      bytes_ = 0;
    } else {
      spill();
      for (const auto& write : batch.writes) make_dirty(write.key);
      for (const auto& key : batch.dirty) make_dirty(key);
    }
    if (!marker_ && batch.marker) marker_ = batch.marker;
    // Older operations go first; the bound drops the oldest.
    auto newer = std::move(ledger_);
    ledger_.clear();
    for (auto& op : batch.ledger) add_ledger(std::move(op));
    for (auto& op : newer) add_ledger(std::move(op));
  }
  arrived_.notify_one();
}

void journal_queue::close() {
  {
    std::lock_guard lock{mutex_};
    closed_ = true;
  }
  arrived_.notify_all();
}

std::size_t journal_queue::backlog() const {
  std::lock_guard lock{mutex_};
  return writes_.size() + dirty_.size() + ledger_.size() + (marker_ ? 1 : 0);
}

std::uint64_t journal_queue::overflows() const {
  std::lock_guard lock{mutex_};
  return overflows_;
}

std::uint64_t journal_queue::ledger_dropped() const {
  std::lock_guard lock{mutex_};
  return ledger_dropped_;
}

}  // namespace progress::bridge
