#pragma once
// The job removals (empty retained payloads) the bridge remembers, so that a
// broker that crashed before saving a removal cannot bring the job back: when
// its replay does, the bridge publishes the removal again (replay_rule).
//
// Bounds: a removal is remembered for `keep` (1 h: by then the broker has
// long saved it, with Mosquitto's autosave_interval of 60 s) and at most
// `max_removals` (100,000) are; beyond, the oldest is forgotten first. A
// forgotten removal can come back only if the broker loses more than `keep`.
// Every change is told to the ledger (the journal), so a restarted bridge
// remembers the same removals.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

#include "broker_ledger.hpp"
#include "job_store.hpp"

namespace progress::bridge {

struct removal_limits {
  std::size_t max_removals = 100'000;
  std::chrono::milliseconds keep = std::chrono::hours{1};
};

class removal_memory {
 public:
  // `saved`: what an earlier run remembered; `ledger` may be null.
  removal_memory(removal_limits limits, std::vector<removal_record> saved, broker_ledger* ledger,
                 std::int64_t now_ms);

  void remember(removal_record record, std::int64_t now_ms);
  // The removal of `key`, unless forgotten (or too old by `now_ms`).
  [[nodiscard]] const removal_record* find(const job_key& key, std::int64_t now_ms);
  void forget(const job_key& key);
  [[nodiscard]] std::size_t size() const noexcept { return by_key_.size(); }

 private:
  void insert(removal_record record);
  void drop_old(std::int64_t now_ms);
  void drop(const job_key& key);

  const removal_limits limits_;
  broker_ledger* ledger_;
  std::unordered_map<job_key, removal_record, job_key_hash> by_key_;
  std::map<std::uint64_t, job_key> by_revision_;  // oldest first
};

}  // namespace progress::bridge
