#include "progress/publisher/publish_error.hpp"

namespace progress {

std::string_view to_string(publish_errc code) noexcept {
  switch (code) {
    case publish_errc::rejected: return "rejected";
    case publish_errc::buffer_full: return "buffer_full";
    case publish_errc::disconnected: return "disconnected";
    case publish_errc::closed: return "closed";
    case publish_errc::timed_out: return "timed_out";
    case publish_errc::client_error: return "client_error";
    case publish_errc::invalid_control: return "invalid_control";
  }
  return "unknown";
}

publish_error::publish_error(publish_errc code, std::string message, int reason_code)
    : std::runtime_error(std::move(message)), code_(code), reason_code_(reason_code) {}

}  // namespace progress
