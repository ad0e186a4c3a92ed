#pragma once
// The outcome of one update: ready once the broker acknowledged the message
// that carried it (PUBACK), or holding the publish_error that stopped it.

#include <chrono>
#include <future>

#include "progress/publisher/publish_error.hpp"

namespace progress {

class delivery {
 public:
  delivery() = default;  // not valid: waits throw std::future_error
  explicit delivery(std::shared_future<void> outcome) : outcome_(std::move(outcome)) {}

  // A delivery that has already failed with `error`.
  [[nodiscard]] static delivery failed(const publish_error& error);

  [[nodiscard]] bool valid() const noexcept { return outcome_.valid(); }
  [[nodiscard]] bool is_ready() const { return wait_for(std::chrono::seconds{0}); }

  // Blocks until the outcome is known; throws publish_error on failure.
  void wait() const { outcome_.get(); }

  // True when the outcome became known within `timeout`; wait() then returns
  // at once (or throws).
  template <typename Rep, typename Period>
  [[nodiscard]] bool wait_for(const std::chrono::duration<Rep, Period>& timeout) const {
    return outcome_.wait_for(timeout) == std::future_status::ready;
  }

 private:
  std::shared_future<void> outcome_;
};

}  // namespace progress
