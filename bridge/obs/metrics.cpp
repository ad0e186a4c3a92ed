#include "metrics.hpp"

#include <prometheus/text_serializer.h>

namespace progress::bridge {
namespace {

constexpr std::string_view overflow_label = "other";

template <typename Metric>
prometheus::Family<Metric>& family(prometheus::detail::Builder<Metric> builder,
                                   prometheus::Registry& registry, const std::string& name,
                                   const std::string& help) {
  return builder.Name(name).Help(help).Register(registry);
}

prometheus::Counter& counter(prometheus::Registry& registry, const std::string& name,
                             const std::string& help) {
  return family(prometheus::BuildCounter(), registry, name, help).Add({});
}

prometheus::Gauge& gauge(prometheus::Registry& registry, const std::string& name, const std::string& help) {
  return family(prometheus::BuildGauge(), registry, name, help).Add({});
}

const prometheus::Histogram::BucketBoundaries& latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                               0.1,   0.25,   0.5,   1,    2.5,   5};
  return buckets;
}

}  // namespace

template <typename Metric>
template <typename... Args>
Metric& metrics::labelled<Metric>::get(const prometheus::Labels& labels, std::string key, Args&&... args) {
  std::lock_guard lock{mutex_};
  if (const auto it = series_.find(key); it != series_.end()) return *it->second;
  if (series_.size() >= max_label_sets) {
    // Past the guard every label value collapses into one series.
    prometheus::Labels overflow = labels;
    for (auto& [name, value] : overflow) value = overflow_label;
    key = std::string{overflow_label};
    if (const auto it = series_.find(key); it != series_.end()) return *it->second;
    return *series_.emplace(std::move(key), &family_.Add(overflow, std::forward<Args>(args)...))
                .first->second;
  }
  return *series_.emplace(std::move(key), &family_.Add(labels, std::forward<Args>(args)...)).first->second;
}

metrics::metrics()
    : registry_{std::make_shared<prometheus::Registry>()},
      received_{counter(*registry_, "progress_bridge_mqtt_messages_received_total",
                        "MQTT messages received on job topics")},
      accepted_{counter(*registry_, "progress_bridge_mqtt_messages_accepted_total",
                        "Job updates and removals that changed the store")},
      rejected_{family(prometheus::BuildCounter(), *registry_, "progress_bridge_mqtt_messages_rejected_total",
                       "MQTT messages refused, by reason")},
      ignored_{family(prometheus::BuildCounter(), *registry_, "progress_bridge_updates_ignored_total",
                      "Valid updates that changed nothing, by ordering decision")},
      mqtt_connected_{family(prometheus::BuildGauge(), *registry_, "progress_bridge_mqtt_connected",
                             "1 while connected to the MQTT broker")
                          .Add({})},
      mqtt_reconnects_{counter(*registry_, "progress_bridge_mqtt_reconnects_total",
                               "Connections to the broker after the first")},
      http_requests_{family(prometheus::BuildCounter(), *registry_, "progress_bridge_http_requests_total",
                            "HTTP requests served, by route and status code")},
      http_duration_{family(prometheus::BuildHistogram(), *registry_,
                            "progress_bridge_http_request_duration_seconds",
                            "HTTP request latency, by route")},
      auth_failures_{family(prometheus::BuildCounter(), *registry_, "progress_bridge_auth_failures_total",
                            "Refused credentials, by reason")},
      rate_limited_{
          counter(*registry_, "progress_bridge_rate_limited_total", "Requests refused by rate limiting")},
      connections_refused_{family(prometheus::BuildCounter(), *registry_,
                                  "progress_bridge_connections_refused_total",
                                  "Connections refused for a connection limit, by listener and reason")},
      connections_open_{family(prometheus::BuildGauge(), *registry_, "progress_bridge_connections_open",
                               "Open connections (HTTP and live streams), by listener")},
      streams_open_{family(prometheus::BuildGauge(), *registry_, "progress_bridge_streams_open",
                           "Live streams open, by transport")},
      websocket_streams_{streams_open_.Add({{"transport", "websocket"}})},
      sse_streams_{streams_open_.Add({{"transport", "sse"}})},
      streams_closed_{family(prometheus::BuildCounter(), *registry_, "progress_bridge_streams_closed_total",
                             "Live streams ended, by transport and reason")},
      stream_messages_sent_{counter(*registry_, "progress_bridge_stream_messages_sent_total",
                                    "Messages written to live streams")},
      stream_messages_conflated_{counter(*registry_, "progress_bridge_stream_messages_conflated_total",
                                         "Pending job updates replaced by a newer one for a slow stream")},
      stream_ops_refused_{family(prometheus::BuildCounter(), *registry_,
                                 "progress_bridge_stream_ops_refused_total",
                                 "WebSocket client ops answered with an error, by code")},
      store_bytes_{gauge(*registry_, "progress_bridge_store_bytes",
                         "Bytes of job states and timelines held, as the byte budgets count them")},
      journal_backlog_{gauge(*registry_, "progress_bridge_journal_backlog",
                             "Changes (or dirty jobs) waiting to be written to the journal or in the "
                             "transaction being written")},
      journal_written_{
          counter(*registry_, "progress_bridge_journal_writes_total", "Job changes written to the journal")},
      journal_write_errors_{counter(*registry_, "progress_bridge_journal_write_errors_total",
                                    "Journal transactions that failed (disk full, I/O error)")},
      journal_rewrites_{
          counter(*registry_, "progress_bridge_journal_rewrites_total",
                  "Times the journal's log was rewritten from memory (it outgrew the store, or was full)")},
      journal_healthy_{gauge(*registry_, "progress_bridge_journal_healthy",
                             "1 while the last journal transaction succeeded")},
      journal_resyncs_{
          family(prometheus::BuildCounter(), *registry_, "progress_bridge_journal_resyncs_total",
                 "Jobs copied from memory after the journal queue overflowed or a write failed, by scope")},
      state_markers_{family(prometheus::BuildCounter(), *registry_, "progress_bridge_state_markers_total",
                            "State markers published to the broker, by result")},
      changes_unmarked_{gauge(*registry_, "progress_bridge_changes_unmarked",
                              "Store changes not yet covered by a state marker the broker acknowledged")},
      republished_{
          family(prometheus::BuildCounter(), *registry_, "progress_bridge_republished_total",
                 "Job states and removals the bridge published again after the broker lost them, by kind "
                 "and result")} {
  auto& jobs = family(prometheus::BuildGauge(), *registry_, "progress_bridge_jobs", "Jobs held, by status");
  for (std::size_t i = 0; i < job_status_count; ++i) {
    jobs_[i] = &jobs.Add({{"status", std::string{to_string(static_cast<job_status>(i))}}});
  }
  stalled_jobs_ = &family(prometheus::BuildGauge(), *registry_, "progress_bridge_jobs_stalled",
                          "Jobs held that are marked stalled (counted under their status too)")
                       .Add({});
}

void metrics::message_received() {
  received_.Increment();
}

void metrics::message_accepted() {
  accepted_.Increment();
}

void metrics::message_rejected(std::string_view reason) {
  rejected_.get({{"reason", std::string{reason}}}, std::string{reason}).Increment();
}

void metrics::update_ignored(std::string_view decision) {
  ignored_.get({{"decision", std::string{decision}}}, std::string{decision}).Increment();
}

void metrics::set_jobs(job_status status, std::size_t count) {
  jobs_.at(static_cast<std::size_t>(status))->Set(static_cast<double>(count));
}

void metrics::set_stalled_jobs(std::size_t count) {
  stalled_jobs_->Set(static_cast<double>(count));
}

void metrics::set_mqtt_connected(bool connected) {
  mqtt_connected_.Set(connected ? 1 : 0);
}

void metrics::mqtt_reconnect() {
  mqtt_reconnects_.Increment();
}

void metrics::http_request(std::string_view route, unsigned status, double seconds) {
  const auto code = std::to_string(status);
  std::string key{route};
  http_duration_.get({{"route", key}}, key, latency_buckets()).Observe(seconds);
  key.append(1, '\n').append(code);
  http_requests_.get({{"route", std::string{route}}, {"code", code}}, std::move(key)).Increment();
}

void metrics::auth_failure(std::string_view reason) {
  auth_failures_.get({{"reason", std::string{reason}}}, std::string{reason}).Increment();
}

void metrics::rate_limited() {
  rate_limited_.Increment();
}

void metrics::connection_refused(std::string_view listener, std::string_view reason) {
  std::string key{listener};
  key.append(1, '\n').append(reason);
  connections_refused_
      .get({{"listener", std::string{listener}}, {"reason", std::string{reason}}}, std::move(key))
      .Increment();
}

void metrics::set_connections_open(std::string_view listener, std::size_t count) {
  connections_open_.get({{"listener", std::string{listener}}}, std::string{listener})
      .Set(static_cast<double>(count));
}

void metrics::stream_opened(std::string_view transport) {
  (transport == "sse" ? sse_streams_ : websocket_streams_).Increment();
}

void metrics::stream_closed(std::string_view transport, std::string_view reason) {
  (transport == "sse" ? sse_streams_ : websocket_streams_).Decrement();
  std::string key{transport};
  key.append(1, '\n').append(reason);
  streams_closed_
      .get({{"transport", std::string{transport}}, {"reason", std::string{reason}}}, std::move(key))
      .Increment();
}

void metrics::stream_messages_sent(std::size_t count) {
  stream_messages_sent_.Increment(static_cast<double>(count));
}

void metrics::stream_message_conflated() {
  stream_messages_conflated_.Increment();
}

void metrics::stream_op_refused(std::string_view code) {
  stream_ops_refused_.get({{"code", std::string{code}}}, std::string{code}).Increment();
}

void metrics::set_store_bytes(std::size_t bytes) {
  store_bytes_.Set(static_cast<double>(bytes));
}

void metrics::set_journal_backlog(std::size_t waiting) {
  journal_backlog_.Set(static_cast<double>(waiting));
}

void metrics::journal_written(std::size_t changes) {
  journal_written_.Increment(static_cast<double>(changes));
}

void metrics::journal_write_failed() {
  journal_write_errors_.Increment();
}

void metrics::journal_rewritten() {
  journal_rewrites_.Increment();
}

void metrics::set_journal_healthy(bool healthy) {
  journal_healthy_.Set(healthy ? 1 : 0);
}

void metrics::journal_resynced(std::string_view scope, std::size_t jobs) {
  journal_resyncs_.get({{"scope", std::string{scope}}}, std::string{scope})
      .Increment(static_cast<double>(jobs));
}

void metrics::state_marker(std::string_view result) {
  state_markers_.get({{"result", std::string{result}}}, std::string{result}).Increment();
}

void metrics::set_changes_unmarked(std::uint64_t changes) {
  changes_unmarked_.Set(static_cast<double>(changes));
}

void metrics::republished(std::string_view what, std::string_view result) {
  std::string key{what};
  key.append(1, '\n').append(result);
  republished_.get({{"what", std::string{what}}, {"result", std::string{result}}}, std::move(key))
      .Increment();
}

void metrics::on_scrape(std::function<void(metrics&)> refresh) {
  scrape_hooks_.push_back(std::move(refresh));
}

std::string metrics::scrape() {
  for (const auto& refresh : scrape_hooks_) refresh(*this);
  return prometheus::TextSerializer{}.Serialize(registry_->Collect());
}

}  // namespace progress::bridge
