#pragma once
// MQTT v5 reason codes in words for the bridge's logs (the table itself is
// protocol/'s, shared with the publisher SDK), and what to check when the
// broker refuses the bridge.
#include <cstdint>
#include <string_view>

#include "progress/protocol/mqtt_reason.hpp"

namespace progress::bridge::mqtt {

// "not authorized" for 0x87; "reason 0x..." text is left to the caller for
// codes the protocol does not define.
[[nodiscard]] std::string_view reason_name(std::uint8_t code) noexcept;

}  // namespace progress::bridge::mqtt

namespace progress::bridge {

// What an operator should check when the broker refuses the bridge's CONNECT
// with `code`: the reason in words and the flags involved.
[[nodiscard]] std::string_view connack_hint(std::uint8_t code) noexcept;

}  // namespace progress::bridge
