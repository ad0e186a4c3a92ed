#pragma once
// Internal: the checks every protocol payload goes through before its fields
// are read (size, UTF-8, nesting depth, JSON), shared by job states and
// control messages.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "progress/protocol/validation.hpp"

namespace progress::detail {

// Integers beyond 2^53 - 1 do not survive a trip through JavaScript.
inline constexpr std::int64_t max_safe_integer = (std::int64_t{1} << 53) - 1;

// The JSON document of a payload of at most `max_bytes`, or why it is none.
// Never throws on bad input.
[[nodiscard]] std::variant<nlohmann::json, rejection> parse_payload_json(std::string_view payload,
                                                                         std::size_t max_bytes);

// Reads an integer field: 3.0 counts as 3; beyond +-(2^53 - 1) is out of range.
[[nodiscard]] std::optional<rejection> read_integer(const nlohmann::json& value, const char* name,
                                                    std::int64_t& out);

}  // namespace progress::detail
