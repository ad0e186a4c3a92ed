#pragma once

#include <cstddef>
#include <deque>
#include <functional>

namespace progress::bench {

// Bounds how many connection attempts of one load-generator thread are between TCP
// connect and a finished WebSocket handshake, so thousands of clients do not overflow the
// contender's listen backlog (which would measure SYN retransmission timers instead of the
// server). Single-threaded: used only from its thread's io_context.
class connect_gate {
 public:
  explicit connect_gate(std::size_t concurrency) : free_(concurrency) {}

  // Runs start now if a slot is free, else when one is released.
  void enter(std::function<void()> start);
  void release();

 private:
  std::size_t free_;
  std::deque<std::function<void()>> waiting_;
};

}  // namespace progress::bench
