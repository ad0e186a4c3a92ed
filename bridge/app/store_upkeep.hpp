#pragma once
// The job store's housekeeping, beside the data path: every `interval` it
// removes finished and stalled jobs past their TTL (store_limits::finished_ttl,
// stalled_ttl) and hands
// each removal to the change listener like any other change; before every
// metrics scrape it sets the job gauges and the bytes held from the store.
//
// Runs on the strand that writes the store (the ingest's), so an expiry never
// interleaves with an update. Lifetime: owned by a std::shared_ptr; stop()
// before dropping it.
#include <chrono>
#include <functional>
#include <memory>

#include "asio.hpp"
#include "job_store.hpp"
#include "metrics.hpp"

namespace progress::bridge {

class store_upkeep : public std::enable_shared_from_this<store_upkeep> {
 public:
  using change_listener = std::function<void(const apply_result&)>;
  using strand_type = net::strand<net::io_context::executor_type>;

  // `store` must outlive `metrics` (the scrape hook reads it).
  store_upkeep(strand_type strand, job_store& store, metrics& metrics, change_listener listener,
               std::chrono::milliseconds interval = std::chrono::seconds{30});

  void start();
  void stop();

 private:
  void arm();
  void expire();

  job_store& store_;
  const change_listener listener_;
  const std::chrono::milliseconds interval_;
  net::steady_timer timer_;
  bool stopped_ = false;  // strand only
};

}  // namespace progress::bridge
