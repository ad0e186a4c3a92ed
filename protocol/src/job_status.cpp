#include "progress/protocol/job_status.hpp"

#include <array>
#include <utility>

namespace progress {
namespace {

constexpr std::array<std::pair<job_status, std::string_view>, 6> status_names{{
    {job_status::queued, "queued"},
    {job_status::started, "started"},
    {job_status::in_progress, "in_progress"},
    {job_status::completed, "completed"},
    {job_status::failed, "failed"},
    {job_status::cancelled, "cancelled"},
}};

}  // namespace

std::string_view to_string(job_status status) noexcept {
  for (const auto& [value, name] : status_names) {
    if (value == status) return name;
  }
  return "unknown";
}

std::optional<job_status> parse_job_status(std::string_view text) noexcept {
  for (const auto& [value, name] : status_names) {
    if (name == text) return value;
  }
  return std::nullopt;
}

}  // namespace progress
