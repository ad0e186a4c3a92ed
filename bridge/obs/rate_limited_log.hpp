#pragma once
// Logging for events that untrusted peers can trigger at will (malformed
// messages, failed logins): at most `max_lines` lines per window, then one
// "suppressed N" line when the next window opens, so a flood can neither fill
// the disk nor hide that it happened.

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>

#include <spdlog/spdlog.h>

namespace progress::bridge {

class rate_limited_log {
 public:
  using clock = std::chrono::steady_clock;

  struct admission {
    bool allowed = false;        // log this line
    std::size_t suppressed = 0;  // lines dropped in the window that just ended: report before this one
  };

  // `max_lines` below 1 counts as 1. Logs to `logger`, or spdlog's default logger when null.
  explicit rate_limited_log(std::size_t max_lines = 10, clock::duration window = std::chrono::seconds{10},
                            std::shared_ptr<spdlog::logger> logger = nullptr);

  template <typename... Args>
  void log(spdlog::level::level_enum level, spdlog::format_string_t<Args...> format, Args&&... args) {
    const auto decision = admit(clock::now());
    auto& out = logger_ ? *logger_ : *spdlog::default_logger_raw();
    if (decision.suppressed > 0) {
      out.log(level, "suppressed {} similar log lines in the last {} s", decision.suppressed,
              std::chrono::duration_cast<std::chrono::seconds>(window_).count());
    }
    if (decision.allowed) out.log(level, format, std::forward<Args>(args)...);
  }

  // The decision alone, with the time given: what log() does before writing.
  admission admit(clock::time_point now);

 private:
  const std::size_t max_lines_;
  const clock::duration window_;
  const std::shared_ptr<spdlog::logger> logger_;
  std::mutex mutex_;
  clock::time_point window_start_{};
  std::size_t lines_ = 0;
  std::size_t suppressed_ = 0;
  bool started_ = false;
};

}  // namespace progress::bridge
