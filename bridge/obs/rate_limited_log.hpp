#pragma once
// Logging for events that outsiders can trigger at will (connection floods,
// malformed requests, refused streams, bad MQTT messages): per kind of event
// at most `max_lines` lines per window, then one "suppressed N" line, so a
// flood can neither fill the disk nor hide that it happened. Each kind has its
// own budget: a flood of one kind never silences the others.
//
// A window's suppressed count is reported by the next line of its kind, or by
// flush() once the window has ended, so a flood that stopped is still told.

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

namespace progress::bridge {

class rate_limited_log {
 public:
  using clock = std::chrono::steady_clock;

  // Kinds beyond this many share one budget, "other": kinds are names from
  // the code, never from input, so this is a guard only.
  static constexpr std::size_t max_kinds = 32;

  struct admission {
    bool allowed = false;        // log this line
    std::size_t suppressed = 0;  // lines dropped in the window that just ended: report before this one
  };

  // `max_lines` below 1 counts as 1. Logs to `logger`, or spdlog's default logger when null.
  explicit rate_limited_log(std::size_t max_lines = 10, clock::duration window = std::chrono::seconds{10},
                            std::shared_ptr<spdlog::logger> logger = nullptr);

  // Logs one event of `kind` (a short fixed name such as "accept") unless its
  // budget is spent. Lines below the logger's level cost no budget.
  template <typename... Args>
  void log(std::string_view kind, spdlog::level::level_enum level, spdlog::format_string_t<Args...> format,
           Args&&... args) {
    auto& out = output();
    if (!out.should_log(level)) return;
    const auto decision = admit(kind, level, clock::now());
    if (decision.suppressed > 0) report(out, kind, level, decision.suppressed);
    if (decision.allowed) out.log(level, format, std::forward<Args>(args)...);
  }

  // The decision alone, with the time given: what log() does before writing.
  admission admit(std::string_view kind, clock::time_point now) {
    return admit(kind, spdlog::level::warn, now);
  }

  // Reports the suppressed lines of every window that has ended by `now`.
  void flush(clock::time_point now);

  // The window: how often flush() is worth calling.
  [[nodiscard]] clock::duration window() const noexcept { return window_; }

 private:
  struct budget {
    clock::time_point start{};
    std::size_t lines = 0;
    std::size_t suppressed = 0;
    spdlog::level::level_enum level = spdlog::level::warn;  // of the last suppressed line
  };

  admission admit(std::string_view kind, spdlog::level::level_enum level, clock::time_point now);
  [[nodiscard]] spdlog::logger& output() const { return logger_ ? *logger_ : *spdlog::default_logger_raw(); }
  void report(spdlog::logger& out, std::string_view kind, spdlog::level::level_enum level,
              std::size_t suppressed) const;

  const std::size_t max_lines_;
  const clock::duration window_;
  const std::shared_ptr<spdlog::logger> logger_;
  std::mutex mutex_;
  std::map<std::string, budget, std::less<>> budgets_;  // guarded by mutex_
};

// The bridge's one log of events outsiders can trigger: every area logs such
// events through it, each under its own kind (docs/security.md lists them).
rate_limited_log& outsider_log();

}  // namespace progress::bridge
