#pragma once
// message_transport over Eclipse Paho MQTT C++ (mqtt::async_client, MQTT v5).
//
// - credentials from publisher_options, automatic reconnect (1 s .. 30 s);
// - offline buffering: while the connection is down up to max_buffered
//   messages are kept and sent on reconnect; a publish beyond that fails with
//   publish_errc::buffer_full; a message lost with the connection (not
//   refused by the broker) is handed over again, at most 4 times in all;
// - presence: on every connect a retained {"status":"online"} is published on
//   workers/<workerId>/status; the Last Will puts a retained
//   {"status":"offline"} there when the connection dies, and disconnect()
//   publishes the same before closing;
// - subscriptions (QoS 1) are made again after every reconnect (the session
//   starts clean), and their messages go to the message handler on Paho's
//   thread.

#include <memory>

#include "progress/publisher/message_transport.hpp"
#include "progress/publisher/publisher_options.hpp"

namespace progress {

class paho_transport final : public message_transport {
 public:
  explicit paho_transport(const publisher_options& options);
  ~paho_transport() override;
  paho_transport(const paho_transport&) = delete;
  paho_transport& operator=(const paho_transport&) = delete;

  void connect() override;
  void disconnect() noexcept override;
  void publish(std::string topic, std::string payload, int qos, bool retain,
               completion done) noexcept override;
  void set_message_handler(message_handler handler) override;
  void subscribe(std::string filter, completion done) noexcept override;
  void unsubscribe(std::string filter) noexcept override;

 private:
  class impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace progress
