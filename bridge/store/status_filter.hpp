#pragma once
// The status part of a job listing query: one status, or a group of them.

#include <optional>
#include <string_view>

#include "progress/protocol/job_status.hpp"

namespace progress::bridge {

class status_filter {
 public:
  enum class kind { any, exact, active, terminal };

  // Matches every job.
  constexpr status_filter() noexcept = default;

  [[nodiscard]] static constexpr status_filter any() noexcept { return status_filter{}; }
  [[nodiscard]] static constexpr status_filter exact(job_status status) noexcept {
    return status_filter{kind::exact, status};
  }
  // Not terminal: queued, started, in_progress.
  [[nodiscard]] static constexpr status_filter active() noexcept {
    return status_filter{kind::active, job_status::queued};
  }
  // completed, failed, cancelled.
  [[nodiscard]] static constexpr status_filter terminal() noexcept {
    return status_filter{kind::terminal, job_status::queued};
  }

  // Parses a query parameter: a protocol status name, "active" or "terminal".
  // Nothing when the text is none of them.
  [[nodiscard]] static std::optional<status_filter> parse(std::string_view text) noexcept;

  [[nodiscard]] constexpr bool matches(job_status status) const noexcept {
    switch (kind_) {
      case kind::any: return true;
      case kind::exact: return status == status_;
      case kind::active: return !is_terminal(status);
      case kind::terminal: return is_terminal(status);
    }
    return false;
  }

 private:
  constexpr status_filter(kind k, job_status status) noexcept : kind_{k}, status_{status} {}

  kind kind_ = kind::any;
  job_status status_ = job_status::queued;
};

}  // namespace progress::bridge
