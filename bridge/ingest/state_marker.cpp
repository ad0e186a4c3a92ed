#include "state_marker.hpp"

#include <nlohmann/json.hpp>

namespace progress::bridge {

std::string state_marker_topic(std::string_view client_id) {
  return "bridge/state/" + std::string(client_id);
}

std::string to_payload(const state_marker& marker) {
  return nlohmann::json{{"marker", marker.marker}, {"sentAt", marker.sent_at_ms}, {"store", marker.store_id}}.dump();
}

std::optional<state_marker> parse_state_marker(std::string_view payload) {
  const auto document = nlohmann::json::parse(payload, nullptr, false);
  if (!document.is_object()) return std::nullopt;
  const auto marker = document.find("marker");
  const auto sent_at = document.find("sentAt");
  const auto store = document.find("store");
  if (marker == document.end() || !marker->is_number_unsigned() || sent_at == document.end() ||
      !sent_at->is_number_integer() || store == document.end() || !store->is_string()) {
    return std::nullopt;
  }
  return state_marker{marker->get<std::uint64_t>(), sent_at->get<std::int64_t>(), store->get<std::string>()};
}

}  // namespace progress::bridge
