#pragma once
// Time as the publisher sees it. Throttling reads now(); updates are stamped
// with unix_ms(). Tests substitute a clock they advance by hand.

#include <chrono>
#include <cstdint>
#include <memory>

namespace progress {

class publisher_clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  virtual ~publisher_clock() = default;

  [[nodiscard]] virtual time_point now() const = 0;
  // Milliseconds since the Unix epoch.
  [[nodiscard]] virtual std::int64_t unix_ms() const = 0;

  // std::chrono::steady_clock and std::chrono::system_clock.
  [[nodiscard]] static std::shared_ptr<publisher_clock> system();
};

}  // namespace progress
