#include "progress/protocol/control_message.hpp"

#include <array>
#include <string>

#include "payload_json.hpp"
#include "progress/protocol/topic.hpp"

namespace progress {
namespace {

constexpr std::array<std::string_view, 4> field_names{"action", "requestId", "requestedBy", "timestamp"};

rejection reject(reject_reason reason, std::string field, std::string message) {
  return rejection{reason, std::move(field), std::move(message)};
}

std::optional<rejection> read_text(const std::optional<detail::element>& value, std::string_view name,
                                   std::string& out, bool (*valid)(std::string_view) noexcept, const char* rule) {
  const std::string field(name);
  if (!value) return reject(reject_reason::missing_field, field, field + " is required");
  if (!value->is_string()) return reject(reject_reason::wrong_type, field, field + " must be a string");
  out = detail::text_of(*value);
  if (!valid(out)) return reject(reject_reason::invalid_value, field, field + " must match " + rule);
  return std::nullopt;
}

}  // namespace

bool is_valid_request_id(std::string_view text) noexcept {
  return text.size() <= max_request_id_length && is_valid_id(text);
}

control_parse_result parse_control(std::string_view payload) {
  const auto fail = [](rejection problem) { return control_parse_result{std::nullopt, std::move(problem)}; };
  auto parsed = detail::parse_payload_object(payload, max_control_payload_bytes);
  if (auto* problem = std::get_if<rejection>(&parsed)) return fail(std::move(*problem));
  const auto fields = detail::members(std::get<simdjson::dom::object>(parsed), field_names);

  control_message message;
  constexpr const char* short_rule = "[A-Za-z0-9_.-]{1,64} and not be only dots";
  if (auto e = read_text(fields[0], field_names[0], message.action, is_valid_request_id, short_rule))
    return fail(*e);
  if (auto e = read_text(fields[1], field_names[1], message.request_id, is_valid_request_id, short_rule)) {
    return fail(*e);
  }
  if (auto e = read_text(fields[2], field_names[2], message.requested_by, is_valid_id,
                         "[A-Za-z0-9_.-]{1,128} and not be only dots")) {
    return fail(*e);
  }
  if (!fields[3]) return fail(reject(reject_reason::missing_field, "timestamp", "timestamp is required"));
  if (auto e = detail::read_integer(*fields[3], "timestamp", message.timestamp)) return fail(*e);
  if (message.timestamp < 0) {
    return fail(reject(reject_reason::out_of_range, "timestamp", "timestamp must not be negative"));
  }
  return control_parse_result{std::move(message), std::nullopt};
}

void to_json(nlohmann::json& out, const control_message& message) {
  out = nlohmann::json{{"action", message.action},
             {"requestId", message.request_id},
             {"requestedBy", message.requested_by},
             {"timestamp", message.timestamp}};
}

}  // namespace progress
