#include "payload_json.hpp"

#include <cmath>
#include <string>

namespace progress::detail {
namespace {

using nlohmann::json;

// Nesting depth of a JSON text, counted before parsing so that a hostile
// payload cannot make the parser or later serialisation recurse deeply.
std::size_t json_depth(std::string_view text) noexcept {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > deepest) deepest = depth;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default: break;
    }
  }
  return deepest;
}

}  // namespace

std::variant<json, rejection> parse_payload_json(std::string_view payload, std::size_t max_bytes) {
  if (payload.size() > max_bytes) {
    return rejection{reject_reason::oversize, "", "payload exceeds " + std::to_string(max_bytes) + " bytes"};
  }
  if (!is_valid_utf8(payload))
    return rejection{reject_reason::invalid_utf8, "", "payload is not valid UTF-8"};
  if (json_depth(payload) > max_json_depth) {
    return rejection{reject_reason::too_deep, "",
                     "payload nests deeper than " + std::to_string(max_json_depth) + " levels"};
  }
  json document = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return rejection{reject_reason::invalid_json, "", "payload is not valid JSON"};
  return document;
}

std::optional<rejection> read_integer(const json& value, const char* name, std::int64_t& out) {
  const auto out_of_range = [name] {
    return rejection{reject_reason::out_of_range, name, std::string(name) + " is out of range"};
  };
  if (value.is_number_unsigned()) {
    const auto v = value.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(max_safe_integer)) return out_of_range();
    out = static_cast<std::int64_t>(v);
  } else if (value.is_number_integer()) {
    out = value.get<std::int64_t>();
  } else if (value.is_number_float()) {
    // 3.0 is an integer written by a language without integers.
    const double v = value.get<double>();
    if (!std::isfinite(v) || std::trunc(v) != v) {
      return rejection{reject_reason::wrong_type, name, std::string(name) + " must be an integer"};
    }
    if (std::fabs(v) > static_cast<double>(max_safe_integer)) return out_of_range();
    out = static_cast<std::int64_t>(v);
  } else {
    return rejection{reject_reason::wrong_type, name, std::string(name) + " must be an integer"};
  }
  return std::nullopt;
}

}  // namespace progress::detail
