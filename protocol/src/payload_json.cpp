#include "payload_json.hpp"

#include <cmath>
#include <cstring>
#include <string>

namespace progress::detail {
namespace {

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

// One parser per thread, reused: its buffers grow to the largest payload seen
// (max_payload_bytes at most) and are kept.
simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

// Fewer brackets than the limit cannot nest deeper than it: most payloads are
// spared the byte-by-byte count (memchr skips to the next bracket).
bool may_nest_too_deep(std::string_view text) noexcept {
  std::size_t brackets = 0;
  for (const char bracket : {'{', '['}) {
    const char* at = text.data();
    const char* const end = text.data() + text.size();
    while ((at = static_cast<const char*>(std::memchr(at, bracket, static_cast<std::size_t>(end - at))))) {
      if (++brackets > max_json_depth) return true;
      ++at;
    }
  }
  return false;
}

}  // namespace

std::variant<simdjson::dom::object, rejection> parse_payload_object(std::string_view payload,
                                                                   std::size_t max_bytes) {
  if (payload.size() > max_bytes) {
    return rejection{reject_reason::oversize, "", "payload exceeds " + std::to_string(max_bytes) + " bytes"};
  }
  if (!simdjson::validate_utf8(payload.data(), payload.size()))
    return rejection{reject_reason::invalid_utf8, "", "payload is not valid UTF-8"};
  if (may_nest_too_deep(payload) && json_depth(payload) > max_json_depth) {
    return rejection{reject_reason::too_deep, "",
                     "payload nests deeper than " + std::to_string(max_json_depth) + " levels"};
  }
  // A byte order mark is allowed before the text (RFC 8259, 8.1: may be ignored).
  if (payload.starts_with("\xEF\xBB\xBF")) payload.remove_prefix(3);
  simdjson::dom::element document;
  if (thread_parser().parse(payload.data(), payload.size()).get(document) != simdjson::SUCCESS) {
    return rejection{reject_reason::invalid_json, "", "payload is not valid JSON"};
  }
  simdjson::dom::object object;
  if (document.get_object().get(object) != simdjson::SUCCESS) {
    return rejection{reject_reason::not_an_object, "", "payload must be a JSON object"};
  }
  return object;
}

std::optional<rejection> read_integer(element value, const char* name, std::int64_t& out) {
  const auto out_of_range = [name] {
    return rejection{reject_reason::out_of_range, name, std::string(name) + " is out of range"};
  };
  const auto not_integer = [name] {
    return rejection{reject_reason::wrong_type, name, std::string(name) + " must be an integer"};
  };
  switch (value.type()) {
    case simdjson::dom::element_type::INT64: {
      const auto v = value.get_int64().value_unsafe();
      if (v > max_safe_integer || v < -max_safe_integer) return out_of_range();
      out = v;
      break;
    }
    case simdjson::dom::element_type::UINT64: {
      const auto v = value.get_uint64().value_unsafe();
      if (v > static_cast<std::uint64_t>(max_safe_integer)) return out_of_range();
      out = static_cast<std::int64_t>(v);
      break;
    }
    case simdjson::dom::element_type::DOUBLE: {
      // 3.0 is an integer written by a language without integers.
      const double v = value.get_double().value_unsafe();
      if (!std::isfinite(v) || std::trunc(v) != v) return not_integer();
      if (std::fabs(v) > static_cast<double>(max_safe_integer)) return out_of_range();
      out = static_cast<std::int64_t>(v);
      break;
    }
    default: return not_integer();
  }
  return std::nullopt;
}

}  // namespace progress::detail
