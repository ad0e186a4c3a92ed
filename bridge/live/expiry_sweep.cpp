#include "expiry_sweep.hpp"

#include <vector>

#include "stream_session.hpp"

namespace progress::bridge {

expiry_sweep::expiry_sweep(net::any_io_executor executor, std::chrono::milliseconds period)
    : timer_(std::move(executor), period) {}

void expiry_sweep::watch(stream_session& session, clock::time_point deadline) {
  const std::lock_guard lock(mutex_);
  watched_.emplace(deadline, &session);
  arm();
}

void expiry_sweep::unwatch(stream_session& session, clock::time_point deadline) {
  const std::lock_guard lock(mutex_);
  watched_.erase({deadline, &session});
}

void expiry_sweep::stop() {
  const std::lock_guard lock(mutex_);
  timer_.stop();
}

std::size_t expiry_sweep::watched() const {
  const std::lock_guard lock(mutex_);
  return watched_.size();
}

void expiry_sweep::arm() {
  if (watched_.empty()) return;
  timer_.arm([self = shared_from_this()] { self->sweep(); });
}

void expiry_sweep::sweep() {
  std::vector<std::shared_ptr<stream_session>> expired;
  {
    const std::lock_guard lock(mutex_);
    timer_.fired();
    const auto now = clock::now();
    while (!watched_.empty() && watched_.begin()->first <= now) {
      // Null when the stream is being destroyed (its destructor waits to unwatch it).
      if (auto session = watched_.begin()->second->weak_from_this().lock())
        expired.push_back(std::move(session));
      watched_.erase(watched_.begin());
    }
    arm();
  }
  for (const auto& session : expired) session->expire();
}

}  // namespace progress::bridge
