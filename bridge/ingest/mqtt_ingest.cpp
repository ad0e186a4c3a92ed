#include "mqtt_ingest.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>

#include "progress/protocol/topic.hpp"
#include "progress/protocol/validation.hpp"
#include "unix_time.hpp"

namespace progress::bridge {

namespace {

constexpr int qos_at_least_once = 1;
constexpr std::size_t max_logged_chars = 160;
constexpr auto disconnect_timeout = std::chrono::seconds{2};
// Resubscribing after an overload replays every retained state, itself a burst:
// space the replays out while overloads continue.
constexpr std::chrono::milliseconds first_resync_delay{std::chrono::seconds{1}};
constexpr std::chrono::milliseconds max_resync_delay{std::chrono::minutes{1}};

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

}  // namespace

// Forwards Paho's completion callbacks; never lets an exception into Paho.
class mqtt_ingest::action_listener final : public mqtt::iaction_listener {
 public:
  using handler = std::function<void(const mqtt::token&)>;

  action_listener(handler on_success, handler on_failure)
      : on_success_{std::move(on_success)}, on_failure_{std::move(on_failure)} {}

  void on_success(const mqtt::token& token) override { invoke(on_success_, token); }
  void on_failure(const mqtt::token& token) override { invoke(on_failure_, token); }

 private:
  static void invoke(const handler& h, const mqtt::token& token) noexcept {
    try {
      h(token);
    } catch (...) {
    }
  }

  handler on_success_;
  handler on_failure_;
};

mqtt_ingest::mqtt_ingest(net::io_context& ioc, ingest_options options, job_store& store, metrics& metrics,
                         change_listener listener)
    : mqtt_ingest(net::make_strand(ioc), std::move(options), store, metrics, std::move(listener)) {}

mqtt_ingest::mqtt_ingest(strand_type strand, ingest_options options, job_store& store, metrics& metrics,
                         change_listener listener)
    : options_{std::move(options)},
      sync_topic_{"bridge/sync/" + options_.client_id},
      store_{store},
      metrics_{metrics},
      listener_{std::move(listener)},
      strand_{std::move(strand)},
      connect_timer_{strand_},
      sync_timer_{strand_},
      resync_timer_{strand_},
      reconnect_delay_{options_.min_reconnect_delay},
      resync_delay_{first_resync_delay},
      client_{options_.url, options_.client_id, mqtt::create_options(MQTTVERSION_5)} {
  if (!is_valid_id(options_.client_id)) {
    throw std::invalid_argument("MQTT client id must match [A-Za-z0-9_.-]{1,128}");
  }
  connect_listener_ = std::make_unique<action_listener>(
      [](const mqtt::token&) {},  // the connected handler takes it from here
      [this](const mqtt::token& token) {
        const auto code = token.get_reason_code() != 0 ? token.get_reason_code() : token.get_return_code();
        post_from_paho([this, code] {
          spdlog::warn("MQTT connect to {} failed (code {}), retrying in {} s", options_.url, code,
                       reconnect_delay_.count());
          schedule_connect();
        });
      });
  subscribe_listener_ = std::make_unique<action_listener>(
      [this](const mqtt::token& token) {
        const auto response = token.get_subscribe_response();  // keep it: the codes live in it
        std::vector<mqtt::ReasonCode> codes = response.get_reason_codes();
        post_from_paho([this, codes = std::move(codes)] { on_subscribed(codes); });
      },
      [this](const mqtt::token& token) {
        const int code = token.get_reason_code() != 0 ? token.get_reason_code() : token.get_return_code();
        post_from_paho([this, code] { on_subscribe_failed(code); });
      });
}

mqtt_ingest::~mqtt_ingest() {
  stop();
}

void mqtt_ingest::start() {
  if (started_.exchange(true)) return;
  client_.set_message_callback(
      [this](mqtt::const_message_ptr message) { on_message_arrived(std::move(message)); });
  client_.set_connected_handler([this](const std::string&) { post_from_paho([this] { on_connected(); }); });
  client_.set_connection_lost_handler([this](const std::string& cause) {
    try {
      post_from_paho([this, cause] { on_connection_lost(cause); });
    } catch (...) {  // copying `cause` ran out of memory
    }
  });
  client_.set_disconnected_handler([this](const mqtt::properties&, mqtt::ReasonCode reason) {
    post_from_paho([this, reason] {
      on_connection_lost("disconnected by the broker, reason " + std::to_string(reason));
    });
  });
  // Consume before connecting: retained states arrive right after the SUBACK.
  accepting_ = true;
  net::post(strand_, [self = shared_from_this()] { self->connect(); });
}

void mqtt_ingest::stop() {
  if (stopped_.exchange(true)) return;
  accepting_ = false;
  try {
    // Also when not connected: it ends Paho's automatic reconnect attempts.
    client_.disconnect(disconnect_timeout)->wait_for(disconnect_timeout + std::chrono::seconds{1});
  } catch (const mqtt::exception& error) {
    spdlog::debug("MQTT disconnect: {}", error.what());
  }
  try {
    client_.disable_callbacks();
  } catch (const mqtt::exception& error) {
    spdlog::debug("MQTT disable callbacks: {}", error.what());
  }
  connected_ = false;
  loaded_ = false;
  metrics_.set_mqtt_connected(false);
  // Timers are strand objects. Their pending handlers hold a shared_ptr to
  // this object, so when the destructor runs none is pending.
  if (const auto self = weak_from_this().lock()) {
    net::post(strand_, [self] {
      self->connect_timer_.cancel();
      self->sync_timer_.cancel();
      self->resync_timer_.cancel();
    });
  }
}

template <typename Handler>
void mqtt_ingest::post_from_paho(Handler&& handler) noexcept {
  try {
    enqueue(inbox_item{nullptr, 0, std::function<void()>(std::forward<Handler>(handler))});
  } catch (...) {
    // Out of memory: nothing sensible to do on a Paho thread.
  }
}

void mqtt_ingest::enqueue(inbox_item item) noexcept {
  bool first = false;
  try {
    const std::lock_guard lock{inbox_mutex_};
    first = inbox_.empty();
    inbox_.push_back(std::move(item));
  } catch (...) {
    if (item.message) {
      pending_messages_.fetch_sub(1);
      pending_bytes_.fetch_sub(item.bytes);
      dropped_.fetch_add(1);
    }
    return;
  }
  // One wake-up per batch: later arrivals join the inbox until the strand drains it.
  if (!first) return;
  try {
    net::post(strand_, [self = weak_from_this()] {
      if (const auto alive = self.lock()) alive->drain_inbox();
    });
  } catch (...) {
    // Out of memory; the next Paho event cannot post either.
  }
}

void mqtt_ingest::drain_inbox() {
  {
    const std::lock_guard lock{inbox_mutex_};
    draining_.swap(inbox_);
  }
  for (auto& item : draining_) {
    if (item.message) {
      pending_messages_.fetch_sub(1);
      pending_bytes_.fetch_sub(item.bytes);
      if (!stopped_) handle(*item.message);
    } else if (item.event && !stopped_) {
      item.event();
    }
  }
  draining_.clear();  // keeps its capacity for the next batch
  drain_overload();
}

void mqtt_ingest::on_message_arrived(mqtt::const_message_ptr message) noexcept {
  if (!accepting_ || !message) return;
  const auto bytes = message->get_payload().size();
  if (pending_messages_.load() >= options_.max_pending_messages ||
      pending_bytes_.load() + bytes > options_.max_pending_bytes) {
    dropped_.fetch_add(1);
    return;
  }
  pending_messages_.fetch_add(1);
  pending_bytes_.fetch_add(bytes);
  enqueue(inbox_item{std::move(message), bytes, {}});
}

void mqtt_ingest::connect() {
  if (stopped_) return;
  auto options = mqtt::connect_options_builder()
                     .mqtt_version(MQTTVERSION_5)
                     .clean_start(true)  // the retained states are the source of truth on every connect
                     .keep_alive_interval(options_.keepalive)
                     .connect_timeout(options_.connect_timeout)
                     .automatic_reconnect(options_.min_reconnect_delay, options_.max_reconnect_delay)
                     .user_name(options_.username)
                     .password(options_.password)
                     .finalize();
  // Properties go on the final object: a copied connect_options loses them.
  options.set_properties(mqtt::properties{{mqtt::property::RECEIVE_MAXIMUM, options_.receive_maximum}});
  try {
    client_.connect(std::move(options), nullptr, *connect_listener_);
  } catch (const mqtt::exception& error) {
    spdlog::warn("MQTT connect to {}: {}", options_.url, error.what());
    schedule_connect();
  }
}

void mqtt_ingest::schedule_connect() {
  if (stopped_) return;
  connect_timer_.expires_after(reconnect_delay_);
  reconnect_delay_ = std::min(reconnect_delay_ * 2, options_.max_reconnect_delay);
  connect_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && !self->stopped_ && !self->client_.is_connected()) self->connect();
  });
}

void mqtt_ingest::on_connected() {
  spdlog::info("MQTT connected to {} as {}", options_.url, options_.client_id);
  if (ever_connected_) metrics_.mqtt_reconnect();
  ever_connected_ = true;
  reconnect_delay_ = options_.min_reconnect_delay;
  connect_timer_.cancel();
  connected_ = true;
  loaded_ = false;
  metrics_.set_mqtt_connected(true);
  // Clean start: the broker forgot our subscriptions, so subscribe on every connect.
  subscribe();
}

void mqtt_ingest::on_connection_lost(std::string_view cause) {
  spdlog::warn("MQTT connection lost: {}", cause.empty() ? "no reason given" : cause);
  connected_ = false;
  loaded_ = false;
  sweep_possible_ = false;
  sync_timer_.cancel();
  metrics_.set_mqtt_connected(false);
}

void mqtt_ingest::subscribe() {
  if (stopped_ || !client_.is_connected()) return;
  auto filters = mqtt::string_collection::create({std::string{job_topic_filter}, sync_topic_});
  try {
    client_.subscribe(filters, mqtt::iasync_client::qos_collection{qos_at_least_once, qos_at_least_once},
                      nullptr, *subscribe_listener_);
  } catch (const mqtt::exception& error) {
    on_subscribe_failed(error.get_return_code());
  }
}

void mqtt_ingest::on_subscribed(const std::vector<mqtt::ReasonCode>& codes) {
  const auto refused = [&](std::size_t i) {
    return i >= codes.size() || codes[i] >= mqtt::ReasonCode::UNSPECIFIED_ERROR;
  };
  if (refused(0)) {
    spdlog::error("MQTT broker refused the subscription to {} (reason {}): no job updates will arrive",
                  job_topic_filter, codes.empty() ? -1 : static_cast<int>(codes[0]));
  }
  // A refused job subscription replays nothing: that proves no job gone.
  sweep_possible_ = !refused(0);
  seen_.clear();
  if (refused(1)) {
    spdlog::warn("MQTT broker refused the subscription to {}: readiness falls back to a {} ms timeout",
                 sync_topic_, options_.sync_timeout.count());
  }
  begin_sync();
}

void mqtt_ingest::on_subscribe_failed(int code) {
  spdlog::error("MQTT subscribe failed (code {}), retrying", code);
  connect_timer_.expires_after(options_.min_reconnect_delay);
  connect_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && !self->stopped_) self->subscribe();
  });
}

void mqtt_ingest::begin_sync() {
  const auto marker = std::to_string(++sync_generation_);
  try {
    client_.publish(sync_topic_, marker.data(), marker.size(), qos_at_least_once, false);
  } catch (const mqtt::exception& error) {
    spdlog::warn("MQTT sync marker not sent: {}", error.what());
  }
  sync_timer_.expires_after(options_.sync_timeout);
  sync_timer_.async_wait(
      [self = shared_from_this(), generation = sync_generation_](boost::system::error_code ec) {
        if (ec || self->stopped_ || generation != self->sync_generation_ || self->loaded_) return;
        // The marker is queued behind every retained state: when the broker's
        // per-client queue (max_queued_messages) overflows it is lost with them.
        spdlog::error(
            "MQTT sync marker did not come back within {} ms; treating the retained state as loaded, but the "
            "broker may have dropped retained job states (check its log and max_queued_messages)",
            self->options_.sync_timeout.count());
        self->loaded_ = true;
        self->sweep_possible_ = false;
      });
}

void mqtt_ingest::on_sync(std::string_view payload) {
  if (payload != std::to_string(sync_generation_)) return;  // a marker of an earlier subscription
  if (sweep_possible_ && !resync_needed_ && dropped_.load() == 0) sweep_unseen();
  sweep_possible_ = false;
  seen_.clear();
  // A replay that completed without new drops ends the overload backoff.
  if (!resync_needed_) resync_delay_ = first_resync_delay;
  if (loaded_) return;
  sync_timer_.cancel();
  loaded_ = true;
  spdlog::info("retained job states loaded: {} jobs held", store_.size());
}

void mqtt_ingest::sweep_unseen() {
  std::size_t removed = 0;
  for (const auto& job : store_.snapshot().jobs) {
    if (seen_.contains(job->key)) continue;
    const auto result = store_.remove(job->key);
    if (result.outcome != apply_outcome::removed) continue;
    ++removed;
    notify(result);
  }
  if (removed > 0) {
    spdlog::info("removed {} jobs whose retained state is gone from the broker", removed);
  }
}

void mqtt_ingest::handle(const mqtt::message& message) {
  const auto& topic = message.get_topic();
  const std::string_view payload = message.get_payload();  // null-safe, unlike get_payload_ref()
  if (topic == sync_topic_) {
    on_sync(payload);
    return;
  }

  metrics_.message_received();
  const auto key = parse_job_topic(topic);
  if (!key) {
    metrics_.message_rejected("bad_topic");
    outsider_log().log("mqtt_topic", spdlog::level::warn, "rejected message on topic '{}': not a job topic",
                       printable(topic));
    return;
  }
  if (sweep_possible_) {
    if (seen_.size() < options_.max_sweep_topics) {
      seen_.insert(*key);
    } else {
      sweep_possible_ = false;
      seen_.clear();
    }
  }
  if (payload.empty()) {
    const auto result = store_.remove(*key);
    record(result);
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
    return;
  }
  const auto result = store_.apply(*key, std::move(*parsed.state), unix_ms_now());
  record(result);
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

void mqtt_ingest::drain_overload() {
  if (const auto dropped = dropped_.exchange(0); dropped > 0) {
    for (std::size_t i = 0; i < dropped; ++i) metrics_.message_rejected("overloaded");
    outsider_log().log("mqtt_overload", spdlog::level::warn,
                       "MQTT hand-off full: dropped {} messages; resubscribing once caught up", dropped);
    resync_needed_ = true;
    sweep_possible_ = false;
  }
  if (!resync_needed_ || resync_scheduled_ || pending_messages_.load() > 0 || !connected_) return;
  resync_scheduled_ = true;
  resync_timer_.expires_after(resync_delay_);
  resync_delay_ = std::min(resync_delay_ * 2, max_resync_delay);
  resync_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    self->resync_scheduled_ = false;
    if (ec || self->stopped_ || !self->connected_) return;
    self->resync_needed_ = false;
    self->subscribe();  // the broker resends every retained state
  });
}

}  // namespace progress::bridge
