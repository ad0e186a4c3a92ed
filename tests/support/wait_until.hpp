#pragma once
// The one way tests wait for something another thread or process does.
#include <chrono>
#include <thread>

namespace progress::test {

// Polls `condition` every 10 ms until it holds (true) or `timeout` passes (false).
template <typename Condition>
bool wait_until(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace progress::test
