#pragma once
// A JSON value kept as compact text. A job's `details` is whatever object the
// worker sent: the bridge stores and forwards it as it came, without building
// a document for it, and code that wants a document parses it on demand.

#include <iosfwd>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace progress {

class raw_json {
 public:
  // {}
  raw_json();
  // The compact text of `value`. Throws nlohmann::json::type_error when a
  // string of it is not valid UTF-8.
  raw_json(const nlohmann::json& value);  // NOLINT(google-explicit-constructor): reads like the value

  // Text that is known to be one compact JSON value (what the parser produced).
  [[nodiscard]] static raw_json from_compact_text(std::string text);

  [[nodiscard]] const std::string& text() const noexcept { return text_; }
  [[nodiscard]] bool is_object() const noexcept { return !text_.empty() && text_.front() == '{'; }
  // The value as a document.
  [[nodiscard]] nlohmann::json parse() const;

  // Equal when they hold the same JSON value (key order aside).
  friend bool operator==(const raw_json& a, const raw_json& b);
  friend bool operator==(const raw_json& a, const nlohmann::json& b);

 private:
  std::string text_;
};

void to_json(nlohmann::json& out, const raw_json& value);
std::ostream& operator<<(std::ostream& out, const raw_json& value);

}  // namespace progress
