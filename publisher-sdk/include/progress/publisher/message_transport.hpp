#pragma once
// The narrow view the publisher has of MQTT, so that tests can replace the
// network with a fake and the throttling logic never sees a Paho type.
//
// Publishing is all a transport must do. Subscriptions carry the requests to a
// job's worker (cancellation, on users/<userId>/jobs/<jobId>/control); a
// transport that keeps the defaults below cannot deliver them, and says so
// through each subscription's completion.

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

  // Called for every message that arrives on a subscribed topic, on a thread
  // of the transport; it must not block.
  using message_handler = std::function<void(const std::string& topic, const std::string& payload)>;

  // Set once, before connect().
  virtual void set_message_handler(message_handler handler) { (void)handler; }
  // Subscribes to `filter` with QoS 1, and again after every reconnect, until
  // unsubscribe(). `done` is called once: with no error when the broker granted
  // the subscription (or it waits for the reconnect), with the error otherwise.
  virtual void subscribe(std::string filter, completion done) noexcept {
    done(publish_error(publish_errc::client_error,
                       "this transport does not subscribe: no requests can reach the job (" + filter + ")"));
  }
  virtual void unsubscribe(std::string filter) noexcept { (void)filter; }
};

}  // namespace progress
