#include "state_diff.hpp"

#include <unordered_map>

#include "progress/protocol/update_order.hpp"

namespace progress::bridge {

state_diff diff_states(const std::vector<std::shared_ptr<const stored_job>>& current,
                       std::span<const held_job> held, const std::optional<std::string>& user_id) {
  std::unordered_map<job_key, const held_job*, job_key_hash> held_by_key;
  held_by_key.reserve(held.size());
  for (const auto& job : held) {
    if (!user_id || job.key.user_id == *user_id) held_by_key.emplace(job.key, &job);
  }
  state_diff diff;
  for (const auto& job : current) {
    const auto it = held_by_key.find(job->key);
    if (it == held_by_key.end()) {
      diff.jobs.push_back(job);
      continue;
    }
    const held_job& copy = *it->second;
    held_by_key.erase(it);
    // decide_update reads the ordering members both types have.
    const auto decision = decide_update(&copy, job->facts);
    // The same version with another status (a replica that only saw a later publication of
    // the same seq): sent unless the client's is terminal, so a terminal state is never
    // missed and never taken back.
    const bool differs = is_accepted(decision) || (decision == update_decision::duplicate &&
                                                   copy.status != job->facts.status && !is_terminal(copy.status));
    if (differs || copy.annotated || !job->notes.empty()) {
      diff.jobs.push_back(job);
    } else {
      ++diff.unchanged;
    }
  }
  // What is left the store does not hold; in the client's order, each once.
  for (const auto& job : held) {
    if (held_by_key.erase(job.key) > 0) diff.removed.push_back(job.key);
  }
  return diff;
}

}  // namespace progress::bridge
