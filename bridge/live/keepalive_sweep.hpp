#pragma once
// Keeps idle WebSockets alive and drops silent ones: one sweep for all the
// WebSocket streams of a hub instead of Beast's idle timer per stream, so an
// idle stream holds no timer and no pending wait. Once a `period` it looks at
// each stream's last frame from its client: after `heartbeat` without one the
// stream is told to ping (once), after twice that to drop the connection
// (the same rule as Beast's idle timeout with keep-alive pings, to within a
// period).
//
// Threads: add() and remove() are called from the streams' strands, the sweep
// runs on any thread of the executor; a mutex guards the list. A stream
// removes itself before it is destroyed (websocket_session), so the list never
// names a destroyed stream.
#include <chrono>
#include <cstddef>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

#include "asio.hpp"
#include "sweep_timer.hpp"

namespace progress::bridge {

class websocket_session;

class keepalive_sweep : public std::enable_shared_from_this<keepalive_sweep> {
 public:
  static constexpr std::size_t not_listed = std::numeric_limits<std::size_t>::max();

  explicit keepalive_sweep(net::any_io_executor executor,
                           std::chrono::milliseconds period = std::chrono::seconds{1});

  // Sets the stream's listed_at(); it must call remove() before it is destroyed.
  void add(websocket_session& session);
  void remove(websocket_session& session);
  // No more sweeps (the bridge shuts down: every stream closes anyway).
  void stop();

  [[nodiscard]] std::size_t listed() const;

 private:
  struct entry {
    websocket_session* session;
    bool pinged;  // told to ping since its client was last heard
  };

  void arm();  // with mutex_ held
  void sweep();

  mutable std::mutex mutex_;
  std::vector<entry> streams_;
  sweep_timer timer_;
};

}  // namespace progress::bridge
