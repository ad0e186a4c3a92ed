#pragma once
// What one live stream follows: one user's jobs (or, for admins, everyone's),
// optionally narrowed to some job ids and types by a `subscribe` op.
#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "job_store.hpp"

namespace progress::bridge {

struct stream_scope {
  // Bounds on a subscribe op, so a scope check stays cheap.
  static constexpr std::size_t max_job_ids = 100;
  static constexpr std::size_t max_types = 20;

  std::optional<std::string> user_id;  // nullopt: every user (admins only)
  std::vector<std::string> job_ids;    // empty: every job
  std::vector<std::string> types;      // empty: every type

  // A removal carries no state, so the type filter lets it through: a client
  // ignores the removal of a job it does not show.
  [[nodiscard]] bool covers(const job_key& key, const stored_job* job) const {
    if (user_id && key.user_id != *user_id) return false;
    if (!job_ids.empty() && std::find(job_ids.begin(), job_ids.end(), key.job_id) == job_ids.end())
      return false;
    if (!types.empty() && job) {
      const auto& type = job->facts.type;
      if (!type || std::find(types.begin(), types.end(), *type) == types.end()) return false;
    }
    return true;
  }
};

}  // namespace progress::bridge
