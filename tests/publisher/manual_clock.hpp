#pragma once
// A publisher_clock that only moves when a test advances it.

#include <chrono>
#include <cstdint>
#include <mutex>

#include "progress/publisher/publisher_clock.hpp"

namespace progress::test {

class manual_clock final : public publisher_clock {
 public:
  static constexpr std::int64_t start_unix_ms = 1'700'000'000'000;

  time_point now() const override {
    const std::lock_guard lock(mutex_);
    return time_point{} + elapsed_;
  }
  std::int64_t unix_ms() const override {
    const std::lock_guard lock(mutex_);
    return start_unix_ms + std::chrono::duration_cast<std::chrono::milliseconds>(elapsed_).count();
  }
  void advance(std::chrono::steady_clock::duration by) {
    const std::lock_guard lock(mutex_);
    elapsed_ += by;
  }

 private:
  mutable std::mutex mutex_;
  // Starts well past the epoch so that "never sent" is not mistaken for "long ago".
  std::chrono::steady_clock::duration elapsed_ = std::chrono::hours{1};
};

}  // namespace progress::test
