#pragma once
// MQTT v5 reason codes in words (MQTT 5.0, 2.4), so that messages say
// "not authorized" rather than "code 135". The bridge and the publisher SDK
// share this one table.
#include <cstdint>
#include <string_view>

namespace progress {

// "not authorized" for 0x87; "unknown reason code" for codes the protocol
// does not define (callers add the number).
[[nodiscard]] std::string_view mqtt_reason_name(std::uint8_t code) noexcept;

}  // namespace progress
