#include "progress/publisher/paho_transport.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <mqtt/async_client.h>
#include <nlohmann/json.hpp>

#include "progress/protocol/topic.hpp"
#include "progress/protocol/worker_status.hpp"
#include "progress/publisher/validation_error.hpp"

namespace progress {
namespace {

using namespace std::chrono_literals;

// Hand-overs of one message, counting the first.
constexpr int max_attempts = 4;

// "Not authorized (0x87)": Paho's names, as the Node and Python SDKs say it.
std::string describe_reason(int reason_code) {
  const char* name = ::MQTTReasonCode_toString(static_cast<MQTTReasonCodes>(reason_code));
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(reason_code) & 0xFFu);
  return std::string(name != nullptr ? name : "Unknown reason") + " (" + hex + ")";
}

publish_error to_publish_error(int return_code, int reason_code, const std::string& detail = {}) {
  if (reason_code >= 0x80)
    return publish_error(publish_errc::rejected, describe_reason(reason_code), reason_code);
  switch (return_code) {
    case MQTTASYNC_MAX_BUFFERED_MESSAGES:
    case MQTTASYNC_MAX_BUFFERED: return publish_error(publish_errc::buffer_full, "offline buffer full");
    case MQTTASYNC_DISCONNECTED:
      return publish_error(publish_errc::disconnected, "not connected to the broker");
    default: break;
  }
  return publish_error(publish_errc::client_error,
                       "MQTT client error " + std::to_string(return_code) + ": " +
                           (detail.empty() ? mqtt::exception::error_str(return_code) : detail));
}

std::string default_client_id(const std::string& worker_id) {
  std::random_device entropy;
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%08x", entropy());
  return worker_id + "-" + suffix;
}

mqtt::create_options create_options(const publisher_options& options) {
  // Buffer while disconnected, but only after the first connect succeeded:
  // a worker that never reached the broker should hear about it.
  return mqtt::create_options_builder()
      .mqtt_version(MQTTVERSION_5)
      .send_while_disconnected(true, /*anyTime=*/false)
      .max_buffered_messages(static_cast<int>(std::min<std::size_t>(options.max_buffered, 1'000'000)))
      .delete_oldest_messages(false)
      .finalize();
}

void* context_of(std::uint64_t id) {
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>(id));
}

std::uint64_t id_of(const mqtt::token& token) {
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(token.get_user_context()));
}

}  // namespace

class paho_transport::impl final : public mqtt::iaction_listener {
 public:
  explicit impl(const publisher_options& options)
      : options_(options),
        status_topic_(worker_status_topic(options.worker_id)),
        client_(options.url,
                options.client_id.empty() ? default_client_id(options.worker_id) : options.client_id,
                create_options(options), nullptr) {
    client_.set_connected_handler([this](const std::string&) {
      if (options_.announce_presence) publish_status(worker_presence::online);
      resubscribe();
    });
    client_.set_message_callback([this](mqtt::const_message_ptr message) {
      try {
        if (message && handler_) handler_(message->get_topic(), message->to_string());
      } catch (...) {
        // Never throw into Paho.
      }
    });
  }

  void set_message_handler(message_handler handler) { handler_ = std::move(handler); }

  void subscribe(std::string filter, completion done) noexcept {
    try {
      {
        const std::lock_guard lock(mutex_);
        subscriptions_[filter] = std::move(done);
      }
      if (client_.is_connected()) send_subscribe(filter);  // otherwise the connected handler does
    } catch (...) {
      answer_subscribe(filter, publish_error(publish_errc::client_error, "cannot subscribe to " + filter));
    }
  }

  void unsubscribe(std::string filter) noexcept {
    try {
      {
        const std::lock_guard lock(mutex_);
        subscriptions_.erase(filter);
      }
      if (client_.is_connected()) client_.unsubscribe(filter);
    } catch (...) {
      // Disconnected meanwhile: the broker forgets the subscription with the session.
    }
  }

  ~impl() override {
    disconnect();
    fail_all(publish_error(publish_errc::closed, "the connection was closed before the broker acknowledged"));
  }

  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  void connect() {
    auto builder =
        mqtt::connect_options_builder()
            .mqtt_version(MQTTVERSION_5)
            .clean_start(true)
            .keep_alive_interval(20s)
            .connect_timeout(std::max(std::chrono::ceil<std::chrono::seconds>(options_.connect_timeout), 1s))
            .automatic_reconnect(1s, 30s);
    if (options_.announce_presence) {
      builder.will(mqtt::will_options(status_topic_, status_payload(worker_presence::offline), 1, true));
    }
    auto options = builder.finalize();
    if (!options_.username.empty()) options.set_user_name(options_.username);
    if (!options_.password.empty()) options.set_password(options_.password);
    try {
      auto token = client_.connect(options);
      if (!token->wait_for(options_.connect_timeout)) {
        throw publish_error(publish_errc::timed_out, "no answer from " + options_.url + " within " +
                                                         std::to_string(options_.connect_timeout.count()) +
                                                         " ms");
      }
    } catch (const mqtt::exception& e) {
      // A refused CONNECT comes as a positive return code that is the CONNACK's reason code.
      const int rc = e.get_return_code();
      const int reason = rc >= 0x80 && rc <= 0xFF ? rc : e.get_reason_code();
      const auto error = to_publish_error(rc, reason, e.get_message());
      throw publish_error(error.code(), "cannot connect to " + options_.url + ": " + error.what(),
                          error.reason_code());
    }
  }

  void disconnect() noexcept {
    if (disconnected_.exchange(true)) return;
    if (client_.is_connected() && options_.announce_presence) {
      // Clean goodbye: the broker discards the Will on a normal disconnect,
      // so the offline status is published here.
      try {
        client_.publish(mqtt::make_message(status_topic_, status_payload(worker_presence::offline), 1, true))
            ->wait_for(options_.connect_timeout);
      } catch (...) {
        // Refused (an account without rights on the status topic): still disconnect.
      }
    }
    try {
      // Waits for messages in flight; also stops the reconnect loop.
      client_.disconnect(static_cast<int>(options_.connect_timeout.count()))
          ->wait_for(options_.connect_timeout + 1s);
    } catch (...) {
      // Disconnecting a client that is not connected throws; nothing is left to do.
    }
    fail_all(publish_error(publish_errc::disconnected, "disconnected before the broker acknowledged"));
  }

  void publish(std::string topic, std::string payload, int qos, bool retain, completion done) noexcept {
    std::uint64_t id = 0;
    try {
      auto message = mqtt::make_message(std::move(topic), std::move(payload), qos, retain);
      {
        const std::lock_guard lock(mutex_);
        id = next_id_++;
        pending_.emplace(id, outstanding{std::move(done), message});
        if (retain) latest_by_topic_[message->get_topic()] = id;
      }
      client_.publish(message, context_of(id), *this);
    } catch (const mqtt::exception& e) {
      finish(id, to_publish_error(e.get_return_code(), e.get_reason_code()));
    } catch (const std::exception& e) {
      finish(id, publish_error(publish_errc::client_error, e.what()));
    }
  }

  // iaction_listener: run on Paho's threads, so they only look up and call.
  void on_success(const mqtt::token& token) override {
    // Depending on the Paho C version a PUBACK with a failure reason code
    // (0x87 Not authorized) arrives here rather than in on_failure().
    const int reason = static_cast<int>(token.get_reason_code());
    if (reason >= 0x80) return finish(id_of(token), to_publish_error(token.get_return_code(), reason));
    finish(id_of(token), std::nullopt);
  }
  void on_failure(const mqtt::token& token) override {
    const int reason = static_cast<int>(token.get_reason_code());
    if (reason < 0x80 && republish(id_of(token))) return;
    finish(id_of(token), to_publish_error(token.get_return_code(), reason));
  }

 private:
  // A message handed over and not yet settled. The message is shared with
  // Paho's own token, not copied.
  struct outstanding {
    completion done;
    mqtt::const_message_ptr message;
    int attempts = 1;
  };

  // The broker's answer to a SUBSCRIBE, on Paho's thread.
  class subscribe_listener final : public mqtt::iaction_listener {
   public:
    explicit subscribe_listener(impl& owner) : owner_(owner) {}
    void on_success(const mqtt::token& token) override {
      int reason = 0;
      try {
        const auto codes = token.get_subscribe_response().get_reason_codes();
        if (!codes.empty()) reason = static_cast<int>(codes.front());
      } catch (...) {
        reason = static_cast<int>(token.get_reason_code());
      }
      owner_.answered(id_of(token), reason >= 0x80 ? std::optional(refused(reason)) : std::nullopt);
    }
    void on_failure(const mqtt::token& token) override {
      const int reason = static_cast<int>(token.get_reason_code());
      owner_.answered(id_of(token),
                      reason >= 0x80 ? refused(reason) : to_publish_error(token.get_return_code(), reason));
    }

   private:
    static publish_error refused(int reason) { return to_publish_error(0, reason); }
    impl& owner_;
  };

  void send_subscribe(const std::string& filter) {
    std::uint64_t id = 0;
    {
      const std::lock_guard lock(mutex_);
      id = next_id_++;
      subscribe_requests_.emplace(id, filter);
    }
    try {
      client_.subscribe(filter, 1, context_of(id), subscribe_listener_);
    } catch (const mqtt::exception& e) {
      {
        const std::lock_guard lock(mutex_);
        subscribe_requests_.erase(id);
      }
      // Disconnected meanwhile: the connected handler subscribes again.
      if (e.get_return_code() != MQTTASYNC_DISCONNECTED) {
        answer_subscribe(filter, to_publish_error(e.get_return_code(), e.get_reason_code()));
      }
    }
  }

  void resubscribe() noexcept {
    try {
      std::vector<std::string> filters;
      {
        const std::lock_guard lock(mutex_);
        for (const auto& [filter, done] : subscriptions_) filters.push_back(filter);
      }
      for (const auto& filter : filters) send_subscribe(filter);
    } catch (...) {
      // Called from Paho's connected handler: never throw there.
    }
  }

  void answered(std::uint64_t id, const std::optional<publish_error>& error) noexcept {
    std::string filter;
    {
      const std::lock_guard lock(mutex_);
      const auto it = subscribe_requests_.find(id);
      if (it == subscribe_requests_.end()) return;
      filter = std::move(it->second);
      subscribe_requests_.erase(it);
    }
    answer_subscribe(filter, error);
  }

  // Tells the subscriber the first answer for `filter`; later ones (after
  // reconnects) find no completion left.
  void answer_subscribe(const std::string& filter, const std::optional<publish_error>& error) noexcept {
    completion done;
    {
      const std::lock_guard lock(mutex_);
      const auto it = subscriptions_.find(filter);
      if (it == subscriptions_.end() || !it->second) return;
      done = std::exchange(it->second, nullptr);
    }
    try {
      if (error) {
        done(publish_error(error->code(), "subscription to " + filter + " refused: " + error->what(),
                           error->reason_code()));
      } else {
        done(std::nullopt);
      }
    } catch (...) {
    }
  }

  // A message lost with the connection (not refused by the broker) is handed
  // over again, and Paho buffers it until the reconnect. True when that
  // happened, or when the message is already settled.
  //
  // A retained state that a newer one of the same job follows is not sent
  // again: it would reach the broker after the newer one and become the
  // retained state. It is settled as delivered, since the state that
  // replaces it is on its way (and reports its own outcome).
  bool republish(std::uint64_t id) noexcept {
    if (disconnected_) return false;
    mqtt::const_message_ptr message;
    bool superseded = false;
    {
      const std::lock_guard lock(mutex_);
      const auto it = pending_.find(id);
      if (it == pending_.end()) return true;
      message = it->second.message;
      if (message->is_retained()) {
        const auto latest = latest_by_topic_.find(message->get_topic());
        superseded = latest != latest_by_topic_.end() && latest->second != id;
      }
      if (!superseded) {
        if (it->second.attempts >= max_attempts) return false;
        ++it->second.attempts;
      }
    }
    if (superseded) {
      finish(id, std::nullopt);
      return true;
    }
    try {
      client_.publish(message, context_of(id), *this);
      return true;
    } catch (...) {
      return false;  // e.g. the offline buffer is full: the caller hears about it
    }
  }

  void finish(std::uint64_t id, const std::optional<publish_error>& error) noexcept {
    completion done;
    {
      const std::lock_guard lock(mutex_);
      const auto it = pending_.find(id);
      if (it == pending_.end()) return;  // already failed by disconnect()
      done = std::move(it->second.done);
      if (const auto latest = latest_by_topic_.find(it->second.message->get_topic());
          latest != latest_by_topic_.end() && latest->second == id) {
        latest_by_topic_.erase(latest);
      }
      pending_.erase(it);
    }
    try {
      if (done) done(error);
    } catch (...) {
      // A completion must not throw into Paho.
    }
  }

  void fail_all(const publish_error& error) noexcept {
    std::unordered_map<std::uint64_t, outstanding> left;
    {
      const std::lock_guard lock(mutex_);
      left.swap(pending_);
      latest_by_topic_.clear();
    }
    for (auto& [id, entry] : left) {
      try {
        if (entry.done) entry.done(error);
      } catch (...) {
      }
    }
  }

  std::string status_payload(worker_presence presence) const {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    return nlohmann::json(worker_status{presence, options_.worker_id,
                                        std::chrono::duration_cast<std::chrono::milliseconds>(now).count()})
        .dump();
  }

  void publish_status(worker_presence status) noexcept {
    try {
      client_.publish(mqtt::make_message(status_topic_, status_payload(status), 1, true));
    } catch (...) {
      // Called from Paho's connected handler: never throw there. The next
      // connect publishes the status again.
    }
  }

  const publisher_options options_;
  const std::string status_topic_;
  // Declared before client_ so that they outlive callbacks running while
  // client_ is destroyed.
  std::mutex mutex_;
  std::unordered_map<std::uint64_t, outstanding> pending_;  // at most max_buffered (publisher_core)
  // The newest pending retained message per topic; entries leave with their message.
  std::unordered_map<std::string, std::uint64_t> latest_by_topic_;
  std::uint64_t next_id_ = 1;
  // Control topics followed, each with the completion of its first SUBSCRIBE
  // until the broker answered it; bounded by the publisher's live job handles.
  std::map<std::string, completion> subscriptions_;
  std::unordered_map<std::uint64_t, std::string> subscribe_requests_;  // SUBSCRIBEs awaiting their answer
  subscribe_listener subscribe_listener_{*this};
  message_handler handler_;  // set before connect(), read on Paho's thread
  std::atomic<bool> disconnected_{false};
  mqtt::async_client client_;
};

paho_transport::paho_transport(const publisher_options& options) {
  try {
    impl_ = std::make_unique<impl>(options);
  } catch (const mqtt::exception& e) {
    // Paho refuses a URL it cannot use (http://, a missing port, ...) when the client is made.
    throw validation_error(rejection{reject_reason::invalid_value, "url",
                                     "cannot use broker URL " + options.url + " (" + e.get_message() +
                                         "): give tcp://host:port or ssl://host:port (also mqtt://, mqtts://, "
                                         "ws://, wss://)"});
  }
}

paho_transport::~paho_transport() = default;

void paho_transport::connect() {
  impl_->connect();
}

void paho_transport::disconnect() noexcept {
  impl_->disconnect();
}

void paho_transport::publish(std::string topic, std::string payload, int qos, bool retain,
                             completion done) noexcept {
  impl_->publish(std::move(topic), std::move(payload), qos, retain, std::move(done));
}

void paho_transport::set_message_handler(message_handler handler) {
  impl_->set_message_handler(std::move(handler));
}

void paho_transport::subscribe(std::string filter, completion done) noexcept {
  impl_->subscribe(std::move(filter), std::move(done));
}

void paho_transport::unsubscribe(std::string filter) noexcept {
  impl_->unsubscribe(std::move(filter));
}

}  // namespace progress
