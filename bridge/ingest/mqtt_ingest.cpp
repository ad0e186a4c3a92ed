#include "mqtt_ingest.hpp"

#include <algorithm>
#include <future>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>

#include "mqtt_reason.hpp"
#include "progress/protocol/topic.hpp"
#include "progress/protocol/validation.hpp"
#include "unix_time.hpp"

namespace progress::bridge {

namespace {

constexpr std::size_t max_logged_chars = 160;
// How long stop() waits for the strand to take the connection down.
constexpr auto stop_timeout = std::chrono::seconds{3};

// Untrusted text made safe for one log line: printable ASCII only, truncated.
std::string printable(std::string_view text) {
  std::string out;
  const auto n = std::min(text.size(), max_logged_chars);
  out.reserve(n + 3);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  if (text.size() > n) out += "...";
  return out;
}

mqtt_endpoint endpoint_of(const std::string& url) {
  auto endpoint = mqtt_endpoint::parse(url);
  if (!endpoint) {
    throw std::invalid_argument("MQTT URL '" + url +
                                "' is not tcp://host:port or ssl://host:port (mqtt:// and mqtts:// too)");
  }
  return *endpoint;
}

}  // namespace

mqtt_ingest::mqtt_ingest(net::io_context& ioc, ingest_options options, job_store& store, metrics& metrics,
                         change_listener listener)
    : mqtt_ingest(net::make_strand(ioc), std::move(options), store, metrics, std::move(listener)) {}

mqtt_ingest::mqtt_ingest(strand_type strand, ingest_options options, job_store& store, metrics& metrics,
                         change_listener listener)
    : options_{std::move(options)},
      endpoint_{endpoint_of(options_.url)},
      sync_topic_{"bridge/sync/" + options_.client_id},
      store_{store},
      metrics_{metrics},
      listener_{std::move(listener)},
      strand_{std::move(strand)},
      reconciler_{std::make_shared<broker_reconciler>(strand_, store, metrics, options_.client_id,
                                                      options_.saved_ledger, options_.ledger,
                                                      options_.reconciler)},
      tls_{net::ssl::context::tls_client},
      connect_timer_{strand_},
      sync_timer_{strand_},
      reconnect_delay_{options_.min_reconnect_delay},
      heard_{options_.max_sweep_topics} {
  if (!is_valid_id(options_.client_id)) {
    throw std::invalid_argument("MQTT client id must match " + std::string(id_rule));
  }
  tls_.set_default_verify_paths();
}

void mqtt_ingest::add_side_topic(side_topic topic) {
  if (!started_) side_topics_.push_back(std::move(topic));
}

bool mqtt_ingest::publish(std::string_view topic, std::string_view payload, bool retain,
                          mqtt_connection::publish_handler done) {
  if (!connection_ || !connected_) return false;
  connection_->publish(topic, payload, mqtt::qos::at_least_once, retain, std::move(done));
  return true;
}

void mqtt_ingest::start() {
  if (started_.exchange(true)) return;
  net::dispatch(strand_, [self = shared_from_this()] { self->connect(); });
}

void mqtt_ingest::stop() {
  if (stopped_.exchange(true)) return;
  if (strand_.running_in_this_thread()) return halt();
  auto halted = std::make_shared<std::promise<void>>();
  auto done = halted->get_future();
  net::dispatch(strand_, [self = shared_from_this(), halted] {
    self->halt();
    halted->set_value();
  });
  if (done.wait_for(stop_timeout) != std::future_status::ready) {
    spdlog::warn("MQTT ingest: the event loop did not take the connection down within {} s",
                 stop_timeout.count());
  }
}

void mqtt_ingest::halt() {
  connect_timer_.cancel();
  sync_timer_.cancel();
  reconciler_->disconnected();
  if (connection_) connection_->close();
  connection_.reset();
  connected_ = false;
  loaded_ = false;
  metrics_.set_mqtt_connected(false);
}

void mqtt_ingest::connect() {
  if (stopped_) return;
  mqtt_connection_options options;
  options.endpoint = endpoint_;
  options.client_id = options_.client_id;
  options.username = options_.username;
  options.password = options_.password;
  options.keepalive = options_.keepalive;
  options.connect_timeout = options_.connect_timeout;
  options.clean_start = true;  // the retained states are the source of truth on every connect
  options.receive_maximum = options_.receive_maximum;
  options.max_packet_size = options_.max_packet_size;
  // The handlers hold the ingest weakly: the connection may outlive it briefly.
  const std::weak_ptr<mqtt_ingest> weak = weak_from_this();
  auto connection = std::make_shared<mqtt_connection>(
      strand_, tls_, std::move(options),
      mqtt_connection::handlers{
          .connected =
              [weak](const mqtt::connack&) {
                if (const auto self = weak.lock(); self && self->connection_)
                  self->on_connected(self->connection_);
              },
          .messages =
              [weak](std::span<const mqtt::publish> messages) {
                if (const auto self = weak.lock()) self->on_messages(messages);
              },
          .closed =
              [weak](const mqtt_connection_end& end) {
                if (const auto self = weak.lock()) self->on_closed(end);
              },
      });
  connection_ = connection;
  connection->start();
}

void mqtt_ingest::schedule_connect() {
  if (stopped_) return;
  connect_timer_.expires_after(reconnect_delay_);
  reconnect_delay_ = std::min(reconnect_delay_ * 2, options_.max_reconnect_delay);
  connect_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && !self->stopped_) self->connect();
  });
}

void mqtt_ingest::on_connected(const std::shared_ptr<mqtt_connection>& connection) {
  spdlog::info("MQTT connected to {} as {}", options_.url, options_.client_id);
  if (ever_connected_) metrics_.mqtt_reconnect();
  ever_connected_ = true;
  reconnect_delay_ = options_.min_reconnect_delay;
  connected_ = true;
  loaded_ = false;
  metrics_.set_mqtt_connected(true);
  // The marker first: its retained message comes before every job's.
  reconciler_->connected([weak = std::weak_ptr{connection}](std::string_view topic, std::string_view payload,
                                                            broker_reconciler::publish_done done) {
    if (const auto live = weak.lock())
      return live->publish(topic, payload, mqtt::qos::at_least_once, true, std::move(done));
    done(std::nullopt);
  });
  connection->subscribe({reconciler_->marker_topic()}, mqtt::qos::at_least_once,
                        [weak = weak_from_this()](std::optional<std::vector<std::uint8_t>> codes) {
                          const auto self = weak.lock();
                          if (self && codes)
                            self->reconciler_->marker_subscribed(!codes->empty() && (*codes)[0] < 0x80);
                        });
  // Clean start: the broker forgot our subscriptions, so subscribe on every connect.
  std::vector<std::string> filters{std::string{job_topic_filter}, sync_topic_};
  for (const auto& side : side_topics_) filters.push_back(side.filter);
  connection->subscribe(std::move(filters), mqtt::qos::at_least_once,
                        [weak = weak_from_this()](std::optional<std::vector<std::uint8_t>> codes) {
                          if (const auto self = weak.lock()) self->on_subscribed(codes);
                        });
}

void mqtt_ingest::on_closed(const mqtt_connection_end& end) {
  connection_.reset();
  const bool was_connected = connected_.exchange(false);
  loaded_ = false;
  sweep_possible_ = false;
  heard_.clear();
  sync_timer_.cancel();
  reconciler_->disconnected();
  metrics_.set_mqtt_connected(false);
  if (stopped_) return;
  if (was_connected) {
    spdlog::warn("MQTT connection to {}: {}; reconnecting", options_.url, describe(end));
  } else {
    outsider_log().log("mqtt_connect", spdlog::level::warn, "MQTT connect to {}: {}; retrying in {} s",
                       options_.url, describe(end), reconnect_delay_.count());
  }
  schedule_connect();
}

void mqtt_ingest::on_subscribed(const std::optional<std::vector<std::uint8_t>>& codes) {
  if (!codes) return;  // the connection ended first; it will be retried
  const auto refused = [&](std::size_t i) { return i >= codes->size() || (*codes)[i] >= 0x80; };
  if (refused(0)) {
    spdlog::error(
        "MQTT broker refused the subscription to {} ({}): no job updates will arrive; check the "
        "broker's ACL for account '{}'",
        job_topic_filter, codes->empty() ? "no reason" : mqtt::reason_name((*codes)[0]), options_.username);
  }
  // A refused job subscription replays nothing: that proves no job gone.
  sweep_possible_ = !refused(0);
  heard_.clear();
  if (refused(1)) {
    spdlog::warn("MQTT broker refused the subscription to {}: readiness falls back to a {} ms timeout",
                 sync_topic_, options_.sync_timeout.count());
  }
  for (std::size_t i = 0; i < side_topics_.size(); ++i) {
    if (refused(i + 2)) {
      spdlog::error("MQTT broker refused the subscription to {}: check the broker's ACL for account '{}'",
                    side_topics_[i].filter, options_.username);
    }
  }
  begin_sync();
}

void mqtt_ingest::begin_sync() {
  const auto marker = std::to_string(++sync_generation_);
  if (connection_) connection_->publish(sync_topic_, marker, mqtt::qos::at_least_once, false);
  last_message_at_ = std::chrono::steady_clock::now();
  await_sync(options_.sync_timeout);
}

void mqtt_ingest::await_sync(std::chrono::steady_clock::duration wait) {
  sync_timer_.expires_after(wait);
  sync_timer_.async_wait([self = shared_from_this(),
                          generation = sync_generation_](boost::system::error_code ec) {
    if (ec || self->stopped_ || generation != self->sync_generation_ || self->loaded_) return;
    // Still replaying: wait for a silence as long as the timeout.
    const auto silent_until = self->last_message_at_ + self->options_.sync_timeout;
    if (const auto now = std::chrono::steady_clock::now(); now < silent_until) {
      return self->await_sync(silent_until - now);
    }
    // The marker is queued behind every retained state: when the broker's
    // per-client queue (max_queued_messages) overflows it is lost with them.
    spdlog::error(
        "MQTT sync marker did not come back, and nothing arrived for {} ms; treating the retained state as "
        "loaded, but the broker may have dropped retained job states (check its log and max_queued_messages)",
        self->options_.sync_timeout.count());
    self->loaded_ = true;
    self->sweep_possible_ = false;
    self->reconciler_->replay_incomplete();
  });
}

void mqtt_ingest::on_sync(std::string_view payload) {
  if (payload != std::to_string(sync_generation_)) return;  // a marker of an earlier subscription
  if (sweep_possible_) {
    sweep_unseen();
  } else if (!loaded_) {
    reconciler_->replay_incomplete();
  }
  sweep_possible_ = false;
  heard_.clear();
  if (loaded_) return;
  sync_timer_.cancel();
  loaded_ = true;
  spdlog::info("retained job states loaded: {} jobs held", store_.size());
}

void mqtt_ingest::sweep_unseen() {
  std::size_t removed = 0;
  for (const auto& job : store_.snapshot().jobs) {
    if (heard_.contains(job->key) || !reconciler_->absent_job_removed(*job)) continue;
    const auto result = store_.remove(job->key);
    if (result.outcome != apply_outcome::removed) continue;
    ++removed;
    notify(result);
  }
  if (removed > 0) spdlog::info("removed {} jobs whose retained state is gone from the broker", removed);
  reconciler_->replay_complete();
}

void mqtt_ingest::note_heard(std::shared_ptr<const stored_job> job) {
  if (!sweep_possible_ || !job) return;  // only the jobs the store holds may be swept
  if (heard_.add(std::move(job))) return;
  sweep_possible_ = false;  // too many to prove anything
  heard_.clear();
}

void mqtt_ingest::note_heard(const job_key& key) {
  if (sweep_possible_) note_heard(store_.find(key));
}

void mqtt_ingest::on_messages(std::span<const mqtt::publish> messages) {
  for (const auto& message : messages) {
    if (stopped_) return;
    handle(message);
  }
  // After the batch: a bridge slow to apply it is not a silent broker.
  if (!loaded_) last_message_at_ = std::chrono::steady_clock::now();
  reconciler_->batch_applied();
}

void mqtt_ingest::handle(const mqtt::publish& message) {
  const auto topic = message.topic;
  const auto payload = message.payload;
  if (topic == sync_topic_) {
    on_sync(payload);
    return;
  }
  if (topic == reconciler_->marker_topic()) {
    reconciler_->on_marker(payload, message.retain);
    return;
  }
  const auto key = parse_job_topic(topic);
  if (!key) {
    for (const auto& side : side_topics_) {
      if (side.on_message(topic, payload)) return;
    }
  }

  metrics_.message_received();
  if (!key) {
    metrics_.message_rejected("bad_topic");
    outsider_log().log("mqtt_topic", spdlog::level::warn, "rejected message on topic '{}': not a job topic",
                       printable(topic));
    return;
  }
  if (payload.empty()) {  // the store holds the job no more: nothing to note
    const auto held = store_.find(*key);
    const auto result = store_.remove(*key);
    record(result);
    if (result.outcome == apply_outcome::removed) reconciler_->removed(*held, result.revision);
    notify(result);
    return;
  }
  auto parsed = parse_update(*key, payload);
  if (!parsed) {
    const auto& error = *parsed.error;
    metrics_.message_rejected(to_string(error.reason));
    outsider_log().log("mqtt_update", spdlog::level::warn, "rejected update on {}: {} {} {}",
                       printable(topic), to_string(error.reason), printable(error.field),
                       printable(error.message));
    note_heard(*key);  // a broken state there is still a state
    return;
  }
  if (message.retain && reconciler_->replay_returns_removed(*key, *parsed.state)) {
    note_heard(*key);
    return;
  }
  const auto result = store_.apply(*key, std::move(*parsed.state), unix_ms_now());
  note_heard(result.job);
  record(result);
  reconciler_->applied(*key, result, message.retain);
  notify(result);
}

void mqtt_ingest::record(const apply_result& result) {
  switch (result.outcome) {
    case apply_outcome::accepted:
    case apply_outcome::new_attempt:
    case apply_outcome::removed: metrics_.message_accepted(); break;
    case apply_outcome::duplicate:
    case apply_outcome::stale:
    case apply_outcome::after_terminal:
    case apply_outcome::expired:
    case apply_outcome::not_found: metrics_.update_ignored(to_string(result.outcome)); break;
    case apply_outcome::over_capacity:
      metrics_.message_rejected("over_capacity");
      outsider_log().log("store_full", spdlog::level::warn,
                         "store full: new job {}/{} refused (no finished job to evict)", result.key.user_id,
                         result.key.job_id);
      break;
  }
}

void mqtt_ingest::notify(const apply_result& result) {
  if (!listener_ || stopped_ || (!is_change(result.outcome) && result.evicted.empty())) return;
  try {
    listener_(result);
  } catch (const std::exception& error) {
    spdlog::error("job change listener failed: {}", error.what());
  }
}

}  // namespace progress::bridge
