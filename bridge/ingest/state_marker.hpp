#pragma once
// The bridge's state marker (docs/protocol.md, "State markers"): a retained
// QoS 1 message on bridge/state/<clientId> whose number is the store revision
// the bridge had reached when it sent it:
//
//   {"marker":1099511627901,"sentAt":1795000000000,"store":"9f3c0a17d2b84e65"}
//
// `store` names the bridge's store (its journal): a marker of another store
// says nothing about this one's changes and is ignored.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace progress::bridge {

struct state_marker {
  std::uint64_t marker = 0;
  std::int64_t sent_at_ms = 0;
  std::string store_id;
};

// "bridge/state/<clientId>".
[[nodiscard]] std::string state_marker_topic(std::string_view client_id);
[[nodiscard]] std::string to_payload(const state_marker& marker);
// Nothing when `payload` is not a marker.
[[nodiscard]] std::optional<state_marker> parse_state_marker(std::string_view payload);

}  // namespace progress::bridge
