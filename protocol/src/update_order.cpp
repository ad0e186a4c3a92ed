#include "progress/protocol/update_order.hpp"

namespace progress {

std::string_view to_string(update_decision decision) noexcept {
  switch (decision) {
    case update_decision::accept: return "accept";
    case update_decision::new_attempt: return "new_attempt";
    case update_decision::duplicate: return "duplicate";
    case update_decision::stale: return "stale";
    case update_decision::after_terminal: return "after_terminal";
  }
  return "unknown";
}

update_decision decide_update(const job_state* current, const job_state& incoming) noexcept {
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

}  // namespace progress
