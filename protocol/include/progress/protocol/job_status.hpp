#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace progress {

// Lifecycle of a job. The last three are terminal: within one attempt nothing
// follows them.
enum class job_status { queued, started, in_progress, completed, failed, cancelled };
inline constexpr std::size_t job_status_count = 6;

[[nodiscard]] std::string_view to_string(job_status status) noexcept;
[[nodiscard]] std::optional<job_status> parse_job_status(std::string_view text) noexcept;

[[nodiscard]] constexpr bool is_terminal(job_status status) noexcept {
  return status == job_status::completed || status == job_status::failed || status == job_status::cancelled;
}

}  // namespace progress
