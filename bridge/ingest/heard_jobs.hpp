#pragma once
// The jobs the store held when the ingest heard their topic during a replay
// (mqtt_ingest: the jobs it holds that a complete replay did not bring are
// gone from the broker).
//
// Memory: an entry shares the store's own state of the job, so no key is
// copied, and every entry lives in a pool of its own that clear() gives back
// whole. A replay of a million jobs fills the store and this set at once: were
// the entries on the common heap among the store's jobs, freeing them after
// the replay would leave a million holes there, resident until reused
// (docs/benchmarks.md, S7).
//
// Bound: at most `limit` jobs; add() refuses one more.
#include <cstddef>
#include <memory>
#include <memory_resource>
#include <optional>
#include <unordered_set>

#include "job_key_hash.hpp"
#include "job_store.hpp"

namespace progress::bridge {

class heard_jobs {
 public:
  explicit heard_jobs(std::size_t limit) : limit_{limit} {}
  heard_jobs(const heard_jobs&) = delete;
  heard_jobs& operator=(const heard_jobs&) = delete;

  // Notes `job` (its newest state replaces one noted before); false when
  // `limit` jobs are noted and it is not one of them.
  [[nodiscard]] bool add(std::shared_ptr<const stored_job> job);
  [[nodiscard]] bool contains(const job_key& key) const;
  [[nodiscard]] std::size_t size() const noexcept { return jobs_ ? jobs_->size() : 0; }
  // Forgets every job and gives the pool back.
  void clear();

 private:
  struct entry {
    mutable std::shared_ptr<const stored_job> job;
    [[nodiscard]] const job_key& key() const noexcept { return job->key; }
  };
  using job_set = std::unordered_set<entry, hash_by_job_key<entry>, equal_by_job_key<entry>,
                                     std::pmr::polymorphic_allocator<entry>>;

  const std::size_t limit_;
  std::pmr::monotonic_buffer_resource pool_;
  std::optional<job_set> jobs_;  // made on the first add(); gone before the pool is released
};

}  // namespace progress::bridge
