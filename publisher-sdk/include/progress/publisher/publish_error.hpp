#pragma once
// The error a delivery holds when an update did not reach the broker.

#include <stdexcept>
#include <string>
#include <string_view>

namespace progress {

// Why a publish failed. Only `rejected` comes from the broker; the others are
// decided on this side of the connection.
enum class publish_errc {
  rejected,      // the broker answered with an MQTT v5 reason code >= 0x80
  buffer_full,   // max_buffered messages already await their acknowledgement
  disconnected,  // the connection is down and the message was not buffered
  closed,        // the publisher was closed before the message was handed over
  timed_out,     // connect or disconnect did not finish in time
  client_error,  // any other failure reported by the MQTT client library
  // A message on a job's control topic that is not a valid control message;
  // it was ignored (reported through on_error only).
  invalid_control,
};

[[nodiscard]] std::string_view to_string(publish_errc code) noexcept;

class publish_error : public std::runtime_error {
 public:
  // `reason_code` is the MQTT v5 reason code, 0 when the broker said nothing.
  publish_error(publish_errc code, std::string message, int reason_code = 0);

  [[nodiscard]] publish_errc code() const noexcept { return code_; }
  [[nodiscard]] int reason_code() const noexcept { return reason_code_; }

 private:
  publish_errc code_;
  int reason_code_;
};

}  // namespace progress
