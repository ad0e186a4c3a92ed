#pragma once
// The narrow view the publisher has of MQTT, so that tests can replace the
// network with a fake and the throttling logic never sees a Paho type.

#include <functional>
#include <optional>
#include <string>

#include "progress/publisher/publish_error.hpp"

namespace progress {

class message_transport {
 public:
  // Called exactly once per publish: with no error once the broker
  // acknowledged the message, with the error otherwise. May run on a thread
  // of the transport, or before publish() returns; it must not block.
  using completion = std::function<void(const std::optional<publish_error>& error)>;

  virtual ~message_transport() = default;

  // Opens the connection; throws publish_error when that fails.
  virtual void connect() = 0;
  // Closes the connection cleanly (a worker announces it is offline).
  virtual void disconnect() noexcept = 0;
  // Hands one message over; reports its outcome through `done`, never by throwing.
  virtual void publish(std::string topic, std::string payload, int qos, bool retain,
                       completion done) noexcept = 0;
};

}  // namespace progress
