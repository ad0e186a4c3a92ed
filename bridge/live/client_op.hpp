#pragma once
// The ops a WebSocket client sends (docs/protocol.md, "Client operations"),
// parsed from one text message. Pure: no session, no access policy. It checks
// the op's shape (JSON object, known verb, field types, id rules, bounds);
// whether the client may follow `user_id` is the access policy's call.
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "state_diff.hpp"

namespace progress::bridge {

struct ping_op {
  std::string id_json = "null";  // the `id` to echo, as JSON text
};

struct subscribe_op {
  std::optional<std::string> user_id;  // the `userId` field when given (admins only)
  std::vector<std::string> job_ids;    // at most stream_scope::max_job_ids valid ids
  std::vector<std::string> types;      // at most stream_scope::max_types non-empty types
};

struct unsubscribe_op {};

// The job versions a client holds (state resume): the first message of a
// stream opened with ?resume=state.
struct resume_op {
  static constexpr std::size_t max_jobs = 10000;
  std::vector<held_job> jobs;
};

// Why an op was refused: an `error` message's code and text.
struct client_op_error {
  std::string_view code;  // "bad_request" or "unknown_op"
  std::string message;
};

using client_op = std::variant<ping_op, subscribe_op, unsubscribe_op, resume_op, client_op_error>;

// Never throws on bad input.
[[nodiscard]] client_op parse_client_op(std::string_view text);

}  // namespace progress::bridge
