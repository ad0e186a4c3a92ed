#pragma once
// The bridge's Prometheus metrics behind typed methods, so no caller touches
// metric families or label names. Every method is thread-safe.
//
// Labels that callers pass (reasons, decisions, routes) must come from small
// fixed sets: route templates like "/api/v1/jobs/{jobId}", never raw paths.
// As a guard, each labelled family keeps at most `max_label_sets` series; values
// seen after that are counted in one more series labelled "other".

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "progress/protocol/job_status.hpp"

namespace progress::bridge {

class metrics {
 public:
  static constexpr std::size_t max_label_sets = 64;

  metrics();

  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  // MQTT ingest.
  void message_received();
  void message_accepted();
  // `reason`: to_string(reject_reason), "bad_topic", "overloaded" or "over_capacity".
  void message_rejected(std::string_view reason);
  // `decision`: why a valid update changed nothing ("duplicate", "stale", ...).
  void update_ignored(std::string_view decision);
  // The job gauge of one status.
  void set_jobs(job_status status, std::size_t count);
  void set_stalled_jobs(std::size_t count);
  void set_mqtt_connected(bool connected);
  void mqtt_reconnect();

  // HTTP side.
  void http_request(std::string_view route, unsigned status, double seconds);
  void auth_failure(std::string_view reason);
  void rate_limited();
  // Connections refused for a connection limit; `listener` is "public" or "admin",
  // `reason` "max_connections", "per_address" or "descriptors".
  void connection_refused(std::string_view listener, std::string_view reason);
  void set_connections_open(std::string_view listener, std::size_t count);

  // Live streams; `transport` is "websocket" or "sse", `reason` a to_string(stream_end).
  void stream_opened(std::string_view transport);
  void stream_closed(std::string_view transport, std::string_view reason);
  void stream_messages_sent(std::size_t count);
  void stream_message_conflated();
  // `code`: the error code a client op was answered with.
  void stream_op_refused(std::string_view code);

  // Durability: the journal (bridge/journal) and the broker's state markers.
  void set_store_bytes(std::size_t bytes);
  void set_journal_backlog(std::size_t waiting);
  void journal_written(std::size_t changes);
  void journal_write_failed();
  void journal_rewritten();
  void set_journal_healthy(bool healthy);
  // Jobs copied from the store as they are; `scope`: "jobs" (dirty jobs) or "all" (the whole store).
  void journal_resynced(std::string_view scope, std::size_t jobs);
  // `result`: "acknowledged" or "refused".
  void state_marker(std::string_view result);
  void set_changes_unmarked(std::uint64_t changes);
  // `what`: "state" or "removal"; `result`: "acknowledged" or "refused".
  void republished(std::string_view what, std::string_view result);

  // Runs `refresh` before every scrape, so gauges that mirror other state
  // (job counts) cost nothing between scrapes. Register before serving.
  void on_scrape(std::function<void(metrics&)> refresh);

  // Prometheus text exposition format.
  [[nodiscard]] std::string scrape();

 private:
  // A family whose series are created on first use, at most max_label_sets of them.
  template <typename Metric>
  class labelled {
   public:
    explicit labelled(prometheus::Family<Metric>& family) : family_{family} {}
    template <typename... Args>
    Metric& get(const prometheus::Labels& labels, std::string key, Args&&... args);

   private:
    prometheus::Family<Metric>& family_;
    std::mutex mutex_;
    std::unordered_map<std::string, Metric*> series_;
  };

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter& received_;
  prometheus::Counter& accepted_;
  labelled<prometheus::Counter> rejected_;
  labelled<prometheus::Counter> ignored_;
  std::array<prometheus::Gauge*, job_status_count> jobs_{};
  prometheus::Gauge* stalled_jobs_ = nullptr;
  std::vector<std::function<void(metrics&)>> scrape_hooks_;
  prometheus::Gauge& mqtt_connected_;
  prometheus::Counter& mqtt_reconnects_;
  labelled<prometheus::Counter> http_requests_;
  labelled<prometheus::Histogram> http_duration_;
  labelled<prometheus::Counter> auth_failures_;
  prometheus::Counter& rate_limited_;
  labelled<prometheus::Counter> connections_refused_;
  labelled<prometheus::Gauge> connections_open_;
  prometheus::Family<prometheus::Gauge>& streams_open_;
  prometheus::Gauge& websocket_streams_;
  prometheus::Gauge& sse_streams_;
  labelled<prometheus::Counter> streams_closed_;
  prometheus::Counter& stream_messages_sent_;
  prometheus::Counter& stream_messages_conflated_;
  labelled<prometheus::Counter> stream_ops_refused_;
  prometheus::Gauge& store_bytes_;
  prometheus::Gauge& journal_backlog_;
  prometheus::Counter& journal_written_;
  prometheus::Counter& journal_write_errors_;
  prometheus::Counter& journal_rewrites_;
  prometheus::Gauge& journal_healthy_;
  labelled<prometheus::Counter> journal_resyncs_;
  labelled<prometheus::Counter> state_markers_;
  prometheus::Gauge& changes_unmarked_;
  labelled<prometheus::Counter> republished_;
};

}  // namespace progress::bridge
