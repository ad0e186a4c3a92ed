#include "status_filter.hpp"

namespace progress::bridge {

std::optional<status_filter> status_filter::parse(std::string_view text) noexcept {
  if (text == "active") return active();
  if (text == "terminal") return terminal();
  if (const auto status = parse_job_status(text)) return exact(*status);
  return std::nullopt;
}

}  // namespace progress::bridge
