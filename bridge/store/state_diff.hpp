#pragma once
// State-based resume (docs/protocol.md, "State resume"): a client that comes
// back, possibly to another bridge replica, says which version of each job it
// holds, and gets only what differs. Versions are the worker's ordering fields
// (attempt, seq, timestamp, status: protocol/update_order), the same on every
// replica, never a replica's own revision or receive time.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "job_store.hpp"

namespace progress::bridge {

// The version of one job a client holds.
struct held_job {
  job_key key;
  job_status status = job_status::queued;
  std::optional<std::int64_t> attempt;
  std::optional<std::int64_t> seq;
  std::optional<std::int64_t> timestamp;
  bool annotated = false;  // its copy carries `stalled` or `cancelRequested`
};

struct state_diff {
  // Jobs the client lacks or holds an older version of, in the order given (newest first).
  std::vector<std::shared_ptr<const stored_job>> jobs;
  // Jobs the client holds that the store does not (removed, expired, or never here).
  std::vector<job_key> removed;
  // Held jobs that are current: the client keeps its copy.
  std::size_t unchanged = 0;
};

// `current`: every job of the scope (job_store::snapshot, not truncated);
// `user_id`: the scope's user (nullopt: everyone), held jobs of other users
// are ignored. A held job is current when the store's state would be refused
// over it by decide_update (duplicate with the same status, stale, after
// terminal), unless either copy carries annotations: those are the bridge's
// marks, outside the worker's ordering, so an annotated job is always sent again.
[[nodiscard]] state_diff diff_states(const std::vector<std::shared_ptr<const stored_job>>& current,
                                     std::span<const held_job> held,
                                     const std::optional<std::string>& user_id);

}  // namespace progress::bridge
