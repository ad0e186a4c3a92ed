#include "progress/protocol/worker_status.hpp"

#include <string>

#include "payload_json.hpp"

namespace progress {
namespace {

using nlohmann::json;

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
  auto parsed = detail::parse_payload_json(payload, max_worker_status_payload_bytes);
  if (auto* problem = std::get_if<rejection>(&parsed)) return {std::nullopt, std::move(*problem)};
  const json document = std::move(std::get<json>(parsed));
  if (!document.is_object()) return fail(reject_reason::not_an_object, "", "payload must be a JSON object");

  const auto status = document.find("status");
  if (status == document.end() || status->is_null()) {
    return fail(reject_reason::missing_field, "status", "status is required");
  }
  if (!status->is_string()) return fail(reject_reason::wrong_type, "status", "status must be a string");
  const auto presence = presence_of(status->get_ref<const std::string&>());
  if (!presence) return fail(reject_reason::invalid_value, "status", "status must be online or offline");

  worker_status result{*presence, std::string(worker_id), std::nullopt};
  const auto named = document.find("workerId");
  if (named != document.end() && !named->is_null()) {
    if (!named->is_string()) return fail(reject_reason::wrong_type, "workerId", "workerId must be a string");
    if (named->get_ref<const std::string&>() != worker_id) {
      return fail(reject_reason::id_mismatch, "workerId", "workerId differs from the topic's worker id");
    }
  }
  const auto timestamp = document.find("timestamp");
  if (timestamp != document.end() && !timestamp->is_null()) {
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
