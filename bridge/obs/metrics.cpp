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
                                 "WebSocket client ops answered with an error, by code")} {
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

void metrics::on_scrape(std::function<void(metrics&)> refresh) {
  scrape_hooks_.push_back(std::move(refresh));
}

std::string metrics::scrape() {
  for (const auto& refresh : scrape_hooks_) refresh(*this);
  return prometheus::TextSerializer{}.Serialize(registry_->Collect());
}

}  // namespace progress::bridge
