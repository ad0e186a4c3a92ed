#include "rate_limited_log.hpp"

#include <algorithm>

namespace progress::bridge {

rate_limited_log::rate_limited_log(std::size_t max_lines, clock::duration window,
                                   std::shared_ptr<spdlog::logger> logger)
    : max_lines_{std::max<std::size_t>(max_lines, 1)}, window_{window}, logger_{std::move(logger)} {}

rate_limited_log::admission rate_limited_log::admit(clock::time_point now) {
  std::lock_guard lock{mutex_};
  admission result;
  if (!started_ || now - window_start_ >= window_) {
    result.suppressed = std::exchange(suppressed_, 0);
    window_start_ = now;
    lines_ = 0;
    started_ = true;
  }
  if (lines_ < max_lines_) {
    ++lines_;
    result.allowed = true;
  } else {
    ++suppressed_;
  }
  return result;
}

}  // namespace progress::bridge
