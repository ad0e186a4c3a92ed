#pragma once
// A plain MQTT v5 client for tests (Paho C++), independent of the publisher SDK,
// so tests can check what any MQTT client sees.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <mqtt/async_client.h>

namespace progress::test {

struct received_message {
  std::string topic;
  std::string payload;
  bool retained = false;
};

class mqtt_test_client {
 public:
  mqtt_test_client(const std::string& url, std::string client_id);
  ~mqtt_test_client();

  // Connects; returns 0 on success or the MQTT v5 reason code of the refusal
  // (-1 when no CONNACK came, e.g. the broker is down).
  int connect(const std::string& username, const std::string& password, bool clean_start = true);
  void disconnect();
  // Subscribes with QoS 1; returns the granted reason code (0x80+ = refused).
  int subscribe(const std::string& filter);
  // Publishes and waits for the PUBACK; returns 0 or the v5 reason code (0x87 = Not authorized).
  int publish(const std::string& topic, const std::string& payload, bool retained = true, int qos = 1);

  // Every message received so far.
  [[nodiscard]] std::vector<received_message> messages() const;
  // Waits until a message arrived on `topic`; returns the latest one on it.
  std::optional<received_message> wait_for(const std::string& topic,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Waits until `count` messages arrived in total.
  bool wait_for_count(std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  mqtt::async_client client_;
  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<received_message> messages_;
};

}  // namespace progress::test
