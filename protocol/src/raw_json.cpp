#include "progress/protocol/raw_json.hpp"

#include <ostream>

namespace progress {

raw_json::raw_json() : text_("{}") {}

raw_json::raw_json(const nlohmann::json& value) : text_(value.dump()) {}

raw_json raw_json::from_compact_text(std::string text) {
  raw_json value;
  value.text_ = std::move(text);
  return value;
}

nlohmann::json raw_json::parse() const {
  return nlohmann::json::parse(text_);
}

bool operator==(const raw_json& a, const raw_json& b) {
  return a.text_ == b.text_ || a.parse() == b.parse();
}

bool operator==(const raw_json& a, const nlohmann::json& b) {
  return a.parse() == b;
}

void to_json(nlohmann::json& out, const raw_json& value) {
  out = value.parse();
}

std::ostream& operator<<(std::ostream& out, const raw_json& value) {
  return out << value.text();
}

}  // namespace progress
