#include "progress/protocol/worker_status.hpp"

#include <array>
#include <string>

#include <nlohmann/json.hpp>

#include "payload_json.hpp"

namespace progress {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 3> field_names{"status", "workerId", "timestamp"};

worker_status_parse_result fail(reject_reason reason, std::string field, std::string message) {
  return worker_status_parse_result{std::nullopt, rejection{reason, std::move(field), std::move(message)}};
}

std::optional<worker_presence> presence_of(std::string_view text) {
  if (text == "online") return worker_presence::online;
  if (text == "offline") return worker_presence::offline;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(worker_presence presence) noexcept {
  return presence == worker_presence::online ? "online" : "offline";
}

worker_status_parse_result parse_worker_status(std::string_view worker_id, std::string_view payload) {
  auto parsed = detail::parse_payload_object(payload, max_worker_status_payload_bytes);
  if (auto* problem = std::get_if<rejection>(&parsed)) return {std::nullopt, std::move(*problem)};
  const auto fields = detail::members(std::get<simdjson::dom::object>(parsed), field_names);

  const auto& status = fields[0];
  if (!status) return fail(reject_reason::missing_field, "status", "status is required");
  if (!status->is_string()) return fail(reject_reason::wrong_type, "status", "status must be a string");
  const auto presence = presence_of(status->get_string().value_unsafe());
  if (!presence) return fail(reject_reason::invalid_value, "status", "status must be online or offline");

  worker_status result{*presence, std::string(worker_id), std::nullopt};
  if (const auto& named = fields[1]) {
    if (!named->is_string()) return fail(reject_reason::wrong_type, "workerId", "workerId must be a string");
    if (named->get_string().value_unsafe() != worker_id) {
      return fail(reject_reason::id_mismatch, "workerId", "workerId differs from the topic's worker id");
    }
  }
  if (const auto& timestamp = fields[2]) {
    std::int64_t value = 0;
    if (auto problem = detail::read_integer(*timestamp, "timestamp", value)) return {std::nullopt, *problem};
    if (value < 0) return fail(reject_reason::out_of_range, "timestamp", "timestamp must not be negative");
    result.timestamp = value;
  }
  return {std::move(result), std::nullopt};
}

void to_json(json& out, const worker_status& status) {
  out = json{{"status", to_string(status.presence)}, {"workerId", status.worker_id}};
  if (status.timestamp) out["timestamp"] = *status.timestamp;
}

}  // namespace progress
