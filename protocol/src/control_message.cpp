#include "progress/protocol/control_message.hpp"

#include <string>

#include "payload_json.hpp"
#include "progress/protocol/topic.hpp"

namespace progress {
namespace {

using nlohmann::json;

rejection reject(reject_reason reason, std::string field, std::string message) {
  return rejection{reason, std::move(field), std::move(message)};
}

// The value of a required field, or why there is none.
std::optional<rejection> require(const json& document, const char* name, const json*& value) {
  const auto it = document.find(name);
  if (it == document.end() || it->is_null()) {
    return reject(reject_reason::missing_field, name, std::string(name) + " is required");
  }
  value = &*it;
  return std::nullopt;
}

std::optional<rejection> read_text(const json& document, const char* name, std::string& out,
                                   bool (*valid)(std::string_view) noexcept, const char* rule) {
  const json* value = nullptr;
  if (auto missing = require(document, name, value)) return missing;
  if (!value->is_string())
    return reject(reject_reason::wrong_type, name, std::string(name) + " must be a string");
  out = value->get<std::string>();
  if (!valid(out))
    return reject(reject_reason::invalid_value, name, std::string(name) + " must match " + rule);
  return std::nullopt;
}

}  // namespace

bool is_valid_request_id(std::string_view text) noexcept {
  return text.size() <= max_request_id_length && is_valid_id(text);
}

control_parse_result parse_control(std::string_view payload) {
  const auto fail = [](rejection problem) { return control_parse_result{std::nullopt, std::move(problem)}; };
  auto parsed = detail::parse_payload_json(payload, max_control_payload_bytes);
  if (auto* problem = std::get_if<rejection>(&parsed)) return fail(std::move(*problem));
  const json document = std::move(std::get<json>(parsed));
  if (!document.is_object())
    return fail(reject(reject_reason::not_an_object, "", "payload must be a JSON object"));

  control_message message;
  constexpr const char* short_rule = "[A-Za-z0-9_.-]{1,64} and not be only dots";
  if (auto e = read_text(document, "action", message.action, is_valid_request_id, short_rule))
    return fail(*e);
  if (auto e = read_text(document, "requestId", message.request_id, is_valid_request_id, short_rule)) {
    return fail(*e);
  }
  if (auto e = read_text(document, "requestedBy", message.requested_by, is_valid_id,
                         "[A-Za-z0-9_.-]{1,128} and not be only dots")) {
    return fail(*e);
  }
  const json* timestamp = nullptr;
  if (auto missing = require(document, "timestamp", timestamp)) return fail(*missing);
  if (auto e = detail::read_integer(*timestamp, "timestamp", message.timestamp)) return fail(*e);
  if (message.timestamp < 0) {
    return fail(reject(reject_reason::out_of_range, "timestamp", "timestamp must not be negative"));
  }
  return control_parse_result{std::move(message), std::nullopt};
}

void to_json(json& out, const control_message& message) {
  out = json{{"action", message.action},
             {"requestId", message.request_id},
             {"requestedBy", message.requested_by},
             {"timestamp", message.timestamp}};
}

}  // namespace progress
