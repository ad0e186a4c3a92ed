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

}  // namespace progress
