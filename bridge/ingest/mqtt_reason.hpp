#pragma once
// MQTT v5 reason codes in words (MQTT 5.0, 2.4), so logs say "not authorized"
// rather than "code 135".
#include <cstdint>
#include <string_view>

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
