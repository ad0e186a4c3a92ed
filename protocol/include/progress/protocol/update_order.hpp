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

// `current` is null when the consumer holds no state for the job. Both may be
// any type with job_state's ordering members (attempt, seq, timestamp,
// status): a consumer need not keep whole states to order updates.
template <class Held, class Incoming>
[[nodiscard]] update_decision decide_update(const Held* current, const Incoming& incoming) noexcept {
  if (current == nullptr) return update_decision::accept;

  const auto current_attempt = current->attempt.value_or(0);
  const auto incoming_attempt = incoming.attempt.value_or(0);
  if (incoming_attempt > current_attempt) return update_decision::new_attempt;
  if (incoming_attempt < current_attempt) return update_decision::stale;

  if (current->seq && incoming.seq) {
    if (*incoming.seq < *current->seq) return update_decision::stale;
    if (*incoming.seq == *current->seq) return update_decision::duplicate;
  } else if (current->timestamp && incoming.timestamp && *incoming.timestamp < *current->timestamp) {
    // Without seq, the worker's clock is the best order we have.
    return update_decision::stale;
  }
  if (is_terminal(current->status)) return update_decision::after_terminal;
  return update_decision::accept;
}

[[nodiscard]] inline update_decision decide_update(const job_state* current,
                                                   const job_state& incoming) noexcept {
  return decide_update<job_state, job_state>(current, incoming);
}

}  // namespace progress
