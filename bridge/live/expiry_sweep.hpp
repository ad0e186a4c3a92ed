#pragma once
// Ends live streams whose token expired: one sweep for all streams of a hub
// instead of a timer per stream, so an idle stream holds no timer and no
// pending wait. While any stream is watched, the sweep wakes once a `period`
// and tells each stream whose deadline passed; a stream therefore ends at its
// deadline or up to one period after it, never before.
//
// Threads: watch() and unwatch() are called from the streams' strands, the
// sweep runs on any thread of the executor; a mutex guards the watched set.
// A stream unwatches itself before it is destroyed (stream_session::finish
// and its destructor), so the set never names a destroyed stream.
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <set>
#include <utility>

#include "asio.hpp"
#include "sweep_timer.hpp"

namespace progress::bridge {

class stream_session;

class expiry_sweep : public std::enable_shared_from_this<expiry_sweep> {
 public:
  using clock = std::chrono::system_clock;

  explicit expiry_sweep(net::any_io_executor executor,
                        std::chrono::milliseconds period = std::chrono::seconds{1});

  // `session` ends with stream_end::token_expired once `deadline` passed.
  void watch(stream_session& session, clock::time_point deadline);
  // Forgets `session` (it ended); the same `deadline` it was watched with.
  void unwatch(stream_session& session, clock::time_point deadline);
  // No more sweeps (the bridge shuts down: every stream closes anyway).
  void stop();

  [[nodiscard]] std::size_t watched() const;

 private:
  void arm();  // with mutex_ held
  void sweep();

  mutable std::mutex mutex_;
  // Ordered by deadline: a sweep takes from the front.
  std::set<std::pair<clock::time_point, stream_session*>> watched_;
  sweep_timer timer_;
};

}  // namespace progress::bridge
