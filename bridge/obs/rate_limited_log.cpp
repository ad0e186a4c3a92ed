#include "rate_limited_log.hpp"

#include <algorithm>

namespace progress::bridge {

namespace {
constexpr std::string_view overflow_kind = "other";
}  // namespace

rate_limited_log::rate_limited_log(std::size_t max_lines, clock::duration window,
                                   std::shared_ptr<spdlog::logger> logger)
    : max_lines_{std::max<std::size_t>(max_lines, 1)}, window_{window}, logger_{std::move(logger)} {}

rate_limited_log::admission rate_limited_log::admit(std::string_view kind, spdlog::level::level_enum level,
                                                    clock::time_point now) {
  std::lock_guard lock{mutex_};
  auto found = budgets_.find(kind);
  if (found == budgets_.end()) {
    if (budgets_.size() >= max_kinds) kind = overflow_kind;
    found = budgets_.try_emplace(std::string(kind)).first;
    found->second.start = now;
  }
  auto& b = found->second;
  admission result;
  if (now - b.start >= window_) {
    result.suppressed = std::exchange(b.suppressed, 0);
    b.start = now;
    b.lines = 0;
  }
  if (b.lines < max_lines_) {
    ++b.lines;
    result.allowed = true;
  } else {
    ++b.suppressed;
    b.level = level;
  }
  return result;
}

void rate_limited_log::flush(clock::time_point now) {
  std::vector<std::pair<std::string, budget>> ended;
  {
    std::lock_guard lock{mutex_};
    for (auto& [kind, b] : budgets_) {
      if (b.suppressed == 0 || now - b.start < window_) continue;
      ended.emplace_back(kind, b);
      b.suppressed = 0;
    }
  }
  for (const auto& [kind, b] : ended) report(output(), kind, b.level, b.suppressed);
}

void rate_limited_log::report(spdlog::logger& out, std::string_view kind, spdlog::level::level_enum level,
                              std::size_t suppressed) const {
  out.log(level, "suppressed {} '{}' log lines in the last {} s", suppressed, kind,
          std::chrono::duration_cast<std::chrono::seconds>(window_).count());
}

rate_limited_log& outsider_log() {
  static rate_limited_log log;
  return log;
}

}  // namespace progress::bridge
