#pragma once
// Requests to the worker of a job (protocol v1, docs/protocol.md "Control
// topic"): retained, QoS 1, on users/<userId>/jobs/<jobId>/control, written by
// the bridge. Today the only action is "cancel"; workers ignore actions they do
// not know, so new ones can be added without breaking them.
//
//   {"action":"cancel","requestId":"r-1","requestedBy":"alice","timestamp":1795000000000}
//
// An empty retained payload clears the topic (the job ended).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "progress/protocol/validation.hpp"

namespace progress {

inline constexpr std::size_t max_control_payload_bytes = 4096;
inline constexpr std::size_t max_request_id_length = 64;
inline constexpr std::string_view cancel_action = "cancel";

struct control_message {
  std::string action;          // [A-Za-z0-9_.-]{1,64}; "cancel" is the one workers act on
  std::string request_id;      // [A-Za-z0-9_.-]{1,64}; one request, however often it is delivered
  std::string requested_by;    // the user id who asked
  std::int64_t timestamp = 0;  // when it was asked, ms since the Unix epoch

  [[nodiscard]] bool is_cancel() const noexcept { return action == cancel_action; }

  friend bool operator==(const control_message&, const control_message&) = default;
};

// True when `text` matches [A-Za-z0-9_.-]{1,64} and is not made only of dots
// (the rule for requestId and action).
[[nodiscard]] bool is_valid_request_id(std::string_view text) noexcept;

struct control_parse_result {
  std::optional<control_message> message;  // set when the payload is valid
  std::optional<rejection> error;          // set otherwise

  [[nodiscard]] explicit operator bool() const noexcept { return message.has_value(); }
};

// Parses a non-empty control payload; never throws on bad input. All four
// fields are required for every action; unknown fields are ignored.
[[nodiscard]] control_parse_result parse_control(std::string_view payload);

// The payload of `message`: {"action","requestId","requestedBy","timestamp"}.
void to_json(nlohmann::json& out, const control_message& message);

}  // namespace progress
