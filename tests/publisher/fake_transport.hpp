#pragma once
// A message_transport that records what it is given and completes each
// publish the way a test asks: at once, with an error, or when released.
// Subscriptions are recorded; deliver() plays a message arriving on one.

#include <algorithm>
#include <cstddef>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "progress/publisher/message_transport.hpp"

namespace progress::test {

class fake_transport final : public message_transport {
 public:
  struct message {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
  };

  void connect() override {
    const std::lock_guard lock(mutex_);
    ++connects_;
    if (connect_error_) throw *connect_error_;
  }

  void disconnect() noexcept override {
    const std::lock_guard lock(mutex_);
    ++disconnects_;
  }

  void publish(std::string topic, std::string payload, int qos, bool retain,
               completion done) noexcept override {
    std::optional<publish_error> error;
    {
      const std::lock_guard lock(mutex_);
      sent_.push_back(message{std::move(topic), std::move(payload), qos, retain});
      if (hold_) {
        held_.push_back(std::move(done));
        return;
      }
      error = fail_with_;
    }
    done(error);
  }

  void set_message_handler(message_handler handler) override {
    const std::lock_guard lock(mutex_);
    handler_ = std::move(handler);
  }

  void subscribe(std::string filter, completion done) noexcept override {
    std::optional<publish_error> error;
    {
      const std::lock_guard lock(mutex_);
      subscriptions_.insert(filter);
      ++subscribes_;
      error = subscribe_error_;
    }
    done(error);
  }

  void unsubscribe(std::string filter) noexcept override {
    const std::lock_guard lock(mutex_);
    subscriptions_.erase(filter);
  }

  // A message arrives on `topic`, as on the transport's thread (only topics
  // subscribed reach the handler, as with a broker).
  void deliver(const std::string& topic, const std::string& payload) {
    message_handler handler;
    {
      const std::lock_guard lock(mutex_);
      if (!subscriptions_.contains(topic)) return;
      handler = handler_;
    }
    if (handler) handler(topic, payload);
  }

  void fail_subscribe_with(std::optional<publish_error> error) {
    const std::lock_guard lock(mutex_);
    subscribe_error_ = std::move(error);
  }

  [[nodiscard]] std::set<std::string> subscriptions() const {
    const std::lock_guard lock(mutex_);
    return subscriptions_;
  }
  [[nodiscard]] int subscribes() const {
    const std::lock_guard lock(mutex_);
    return subscribes_;
  }

  // Later publishes complete with `error` (nullopt: acknowledged).
  void fail_with(std::optional<publish_error> error) {
    const std::lock_guard lock(mutex_);
    fail_with_ = std::move(error);
  }
  void fail_connect_with(publish_error error) {
    const std::lock_guard lock(mutex_);
    connect_error_ = std::move(error);
  }
  // Later publishes wait for release().
  void hold() {
    const std::lock_guard lock(mutex_);
    hold_ = true;
  }
  // Completes every held publish with `error` and stops holding.
  void release(const std::optional<publish_error>& error = std::nullopt) {
    std::vector<completion> held;
    {
      const std::lock_guard lock(mutex_);
      held.swap(held_);
      hold_ = false;
    }
    for (auto& done : held) done(error);
  }

  [[nodiscard]] std::vector<message> sent() const {
    const std::lock_guard lock(mutex_);
    return sent_;
  }
  [[nodiscard]] std::size_t sent_count() const {
    const std::lock_guard lock(mutex_);
    return sent_.size();
  }
  [[nodiscard]] int connects() const {
    const std::lock_guard lock(mutex_);
    return connects_;
  }
  [[nodiscard]] int disconnects() const {
    const std::lock_guard lock(mutex_);
    return disconnects_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<message> sent_;
  std::vector<completion> held_;
  std::optional<publish_error> fail_with_;
  std::optional<publish_error> connect_error_;
  std::optional<publish_error> subscribe_error_;
  message_handler handler_;
  std::set<std::string> subscriptions_;
  int subscribes_ = 0;
  bool hold_ = false;
  int connects_ = 0;
  int disconnects_ = 0;
};

}  // namespace progress::test
