#include "keepalive_sweep.hpp"

#include "websocket_session.hpp"

namespace progress::bridge {

keepalive_sweep::keepalive_sweep(net::any_io_executor executor, std::chrono::milliseconds period)
    : timer_(std::move(executor), period) {}

void keepalive_sweep::add(websocket_session& session) {
  const std::lock_guard lock(mutex_);
  session.listed_at_ = streams_.size();
  streams_.push_back({&session, false});
  arm();
}

void keepalive_sweep::remove(websocket_session& session) {
  const std::lock_guard lock(mutex_);
  const std::size_t at = session.listed_at_;
  if (at == not_listed) return;
  session.listed_at_ = not_listed;
  if (at + 1 != streams_.size()) {
    streams_[at] = streams_.back();
    streams_[at].session->listed_at_ = at;
  }
  streams_.pop_back();
  if (streams_.empty()) std::vector<entry>{}.swap(streams_);
}

void keepalive_sweep::stop() {
  const std::lock_guard lock(mutex_);
  timer_.stop();
}

std::size_t keepalive_sweep::listed() const {
  const std::lock_guard lock(mutex_);
  return streams_.size();
}

void keepalive_sweep::arm() {
  if (streams_.empty()) return;
  timer_.arm([self = shared_from_this()] { self->sweep(); });
}

void keepalive_sweep::sweep() {
  std::vector<std::shared_ptr<websocket_session>> to_ping;
  std::vector<std::shared_ptr<websocket_session>> to_drop;
  {
    const std::lock_guard lock(mutex_);
    timer_.fired();
    const auto now = std::chrono::steady_clock::now();
    for (auto& [session, pinged] : streams_) {
      const auto silent = now - session->last_heard();
      const auto heartbeat = session->heartbeat();
      if (silent < heartbeat) {
        pinged = false;
        continue;
      }
      if (pinged && silent < 2 * heartbeat) continue;
      // Null when the stream is being destroyed (its destructor waits to remove it).
      auto held = std::static_pointer_cast<websocket_session>(session->weak_from_this().lock());
      if (!held) continue;
      if (!pinged) {
        pinged = true;
        to_ping.push_back(std::move(held));
      } else {
        to_drop.push_back(std::move(held));
      }
    }
    arm();
  }
  for (const auto& session : to_ping) session->keepalive_ping();
  for (const auto& session : to_drop) session->keepalive_drop();
}

}  // namespace progress::bridge
