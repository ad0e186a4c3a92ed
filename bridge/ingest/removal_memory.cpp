#include "removal_memory.hpp"

#include <utility>

namespace progress::bridge {

removal_memory::removal_memory(removal_limits limits, std::vector<removal_record> saved, broker_ledger* ledger,
                               std::int64_t now_ms)
    : limits_{limits}, ledger_{ledger} {
  for (auto& record : saved) insert(std::move(record));
  drop_old(now_ms);
}

void removal_memory::remember(removal_record record, std::int64_t now_ms) {
  if (ledger_) ledger_->removal_remembered(record);
  insert(std::move(record));
  drop_old(now_ms);
}

const removal_record* removal_memory::find(const job_key& key, std::int64_t now_ms) {
  drop_old(now_ms);
  const auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : &it->second;
}

void removal_memory::forget(const job_key& key) {
  if (!by_key_.contains(key)) return;
  drop(key);
}

void removal_memory::insert(removal_record record) {
  if (const auto old = by_key_.find(record.key); old != by_key_.end()) by_revision_.erase(old->second.revision);
  by_revision_[record.revision] = record.key;
  auto key = record.key;
  by_key_.insert_or_assign(std::move(key), std::move(record));
}

// In revision order, which is the order the removals came in.
void removal_memory::drop_old(std::int64_t now_ms) {
  const auto oldest_kept = now_ms - limits_.keep.count();
  while (!by_revision_.empty()) {
    const auto key = by_revision_.begin()->second;
    if (by_revision_.size() <= limits_.max_removals && by_key_.at(key).removed_at_ms >= oldest_kept) break;
    drop(key);
  }
}

void removal_memory::drop(const job_key& key) {
  const auto it = by_key_.find(key);
  if (ledger_) ledger_->removal_forgotten(key);
  by_revision_.erase(it->second.revision);
  by_key_.erase(it);
}

}  // namespace progress::bridge
