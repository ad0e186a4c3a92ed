#pragma once
// What one live stream follows: one user's jobs (or, for admins, everyone's),
// optionally narrowed to some job ids and types by a `subscribe` op.
#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "job_store.hpp"

namespace progress::bridge {

class stream_scope {
 public:
  // Bounds on a subscribe op, so a scope check stays cheap.
  static constexpr std::size_t max_job_ids = 100;
  static constexpr std::size_t max_types = 20;

  // `job_ids` empty: every job; `types` empty: every type.
  explicit stream_scope(std::optional<std::string> user, std::vector<std::string> job_ids = {},
                        std::vector<std::string> types = {})
      : user_id(std::move(user)) {
    if (!job_ids.empty() || !types.empty())
      narrowing_ = std::make_shared<const narrowing>(narrowing{std::move(job_ids), std::move(types)});
  }
  stream_scope() = default;

  std::optional<std::string> user_id;  // nullopt: every user (admins only)

  // A removal carries no state, so the type filter lets it through: a client
  // ignores the removal of a job it does not show.
  [[nodiscard]] bool covers(const job_key& key, const stored_job* job) const {
    if (user_id && key.user_id != *user_id) return false;
    if (!narrowing_) return true;
    const auto& [job_ids, types] = *narrowing_;
    if (!job_ids.empty() && std::find(job_ids.begin(), job_ids.end(), key.job_id) == job_ids.end())
      return false;
    if (!types.empty() && job) {
      const auto& type = job->facts.type;
      if (!type || std::find(types.begin(), types.end(), *type) == types.end()) return false;
    }
    return true;
  }

 private:
  // Most streams follow every job of their user: they hold no narrowing.
  struct narrowing {
    std::vector<std::string> job_ids;
    std::vector<std::string> types;
  };
  std::shared_ptr<const narrowing> narrowing_;
};

}  // namespace progress::bridge
