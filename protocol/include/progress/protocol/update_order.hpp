#pragma once
// What a consumer does with an update given the state it already holds
// (docs/protocol.md, "Ordering and duplicates").

#include <string_view>

#include "progress/protocol/job_state.hpp"

namespace progress {

enum class update_decision {
  accept,          // newer state of the same attempt (or the first state seen)
  new_attempt,     // a higher attempt: the job starts over, history is reset
  duplicate,       // same attempt and seq as the current state: drop
  stale,           // older attempt or lower seq: drop
  after_terminal,  // same attempt, current state is terminal: drop
};

[[nodiscard]] std::string_view to_string(update_decision decision) noexcept;

[[nodiscard]] constexpr bool is_accepted(update_decision decision) noexcept {
  return decision == update_decision::accept || decision == update_decision::new_attempt;
}

// `current` is null when the consumer holds no state for the job.
[[nodiscard]] update_decision decide_update(const job_state* current, const job_state& incoming) noexcept;

}  // namespace progress
