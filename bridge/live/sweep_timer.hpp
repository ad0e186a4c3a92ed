#pragma once
// The once-a-period timer of a sweep (expiry_sweep, keepalive_sweep): armed
// while its owner has something to look at, never again after stop(). Not
// thread-safe: the owner calls it under its own mutex.
#include <chrono>
#include <utility>

#include "asio.hpp"

namespace progress::bridge {

class sweep_timer {
 public:
  sweep_timer(net::any_io_executor executor, std::chrono::milliseconds period)
      : period_(period), timer_(std::move(executor)) {}

  // Unless armed already or stopped: `sweep` runs once a period has passed.
  template <class Sweep>
  void arm(Sweep sweep) {
    if (armed_ || stopped_) return;
    armed_ = true;
    timer_.expires_after(period_);
    timer_.async_wait([sweep = std::move(sweep)](boost::system::error_code ec) {
      if (!ec) sweep();
    });
  }
  // The sweep has begun: the next arm() waits a whole period again.
  void fired() noexcept { armed_ = false; }
  void stop() {
    stopped_ = true;
    timer_.cancel();
  }

 private:
  const std::chrono::milliseconds period_;
  net::steady_timer timer_;
  bool armed_ = false;
  bool stopped_ = false;
};

}  // namespace progress::bridge
