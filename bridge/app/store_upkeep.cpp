#include "store_upkeep.hpp"

#include <spdlog/spdlog.h>

#include "unix_time.hpp"

namespace progress::bridge {

store_upkeep::store_upkeep(strand_type strand, job_store& store, metrics& metrics, change_listener listener,
                           std::chrono::milliseconds interval)
    : store_(store), listener_(std::move(listener)), interval_(interval), timer_(std::move(strand)) {
  metrics.on_scrape([&store](bridge::metrics& m) {
    const auto counts = store.counts_by_status();
    for (std::size_t i = 0; i < counts.size(); ++i) m.set_jobs(static_cast<job_status>(i), counts[i]);
    m.set_stalled_jobs(store.stalled_count());
    m.set_store_bytes(store.bytes());
  });
}

void store_upkeep::start() {
  net::dispatch(timer_.get_executor(), [self = shared_from_this()] { self->arm(); });
}

void store_upkeep::stop() {
  net::dispatch(timer_.get_executor(), [self = shared_from_this()] {
    self->stopped_ = true;
    self->timer_.cancel();
  });
}

void store_upkeep::arm() {
  timer_.expires_after(interval_);
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->stopped_) return;
    self->expire();
    self->arm();
  });
}

void store_upkeep::expire() {
  const auto removed = store_.expire(unix_ms_now());
  for (const auto& change : removed) {
    if (!listener_) break;
    apply_result result;
    result.outcome = apply_outcome::removed;
    result.key = change.key;
    result.revision = change.revision;
    try {
      listener_(result);
    } catch (const std::exception& error) {
      spdlog::error("job change listener failed: {}", error.what());
    }
  }
  if (!removed.empty()) spdlog::debug("removed {} finished or stalled jobs past their TTL", removed.size());
}

}  // namespace progress::bridge
