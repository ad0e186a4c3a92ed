#pragma once
// Internal: the checks every protocol payload goes through before its fields
// are read (size, UTF-8, nesting depth, JSON), shared by job states and
// control messages, and the typed reads of their fields.
//
// Payloads are parsed with simdjson: the bridge parses every job update, and
// a DOM of std::map nodes per update was its largest cost. Each thread keeps
// one parser whose buffers are reused, so parsing allocates nothing once warm;
// the elements it returns are valid until the thread parses the next payload.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <simdjson.h>

#include "progress/protocol/validation.hpp"

namespace progress::detail {

// Integers beyond 2^53 - 1 do not survive a trip through JavaScript.
inline constexpr std::int64_t max_safe_integer = (std::int64_t{1} << 53) - 1;

using element = simdjson::dom::element;

// The root object of a payload of at most `max_bytes`, or why there is none.
// Never throws on bad input.
[[nodiscard]] std::variant<simdjson::dom::object, rejection> parse_payload_object(std::string_view payload,
                                                                                 std::size_t max_bytes);

// The members of `object` named in `names`, in that order: the last member of
// each name (as in JSON documents with duplicate keys, the last one counts);
// null members count as absent.
template <std::size_t N>
std::array<std::optional<element>, N> members(simdjson::dom::object object,
                                              const std::array<std::string_view, N>& names) {
  std::array<std::optional<element>, N> found{};
  for (const auto field : object) {
    const std::string_view key = field.key;
    for (std::size_t i = 0; i < N; ++i) {
      // Length and first letter first: most names differ there, and memcmp is a call.
      const auto name = names[i];
      if (key.size() != name.size() || key.empty() || key[0] != name[0] || key != name) continue;
      if (field.value.is_null()) {
        found[i].reset();
      } else {
        found[i] = field.value;
      }
      break;
    }
  }
  return found;
}

// Reads an integer field: 3.0 counts as 3; beyond +-(2^53 - 1) is out of range.
[[nodiscard]] std::optional<rejection> read_integer(element value, const char* name, std::int64_t& out);

// The text of a string element (a copy: the element's buffer is reused).
[[nodiscard]] inline std::string text_of(element value) {
  return std::string(value.get_string().value_unsafe());
}

}  // namespace progress::detail
