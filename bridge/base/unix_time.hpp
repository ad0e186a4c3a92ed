#pragma once
// Wall-clock times as the protocol writes them: milliseconds since the Unix epoch.
#include <chrono>
#include <cstdint>

namespace progress::bridge {

[[nodiscard]] inline std::int64_t to_unix_ms(std::chrono::system_clock::time_point time) noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

[[nodiscard]] inline std::int64_t unix_ms_now() noexcept {
  return to_unix_ms(std::chrono::system_clock::now());
}

}  // namespace progress::bridge
