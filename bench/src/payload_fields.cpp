#include "payload_fields.hpp"

#include <charconv>

namespace progress::bench {

namespace {

std::optional<std::int64_t> find_integer_field(std::string_view text, std::string_view key) {
  const auto at = text.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  const char* begin = text.data() + at + key.size();
  const char* end = text.data() + text.size();
  while (begin < end && *begin == ' ') ++begin;
  std::int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc{}) return std::nullopt;
  return value;
}

}  // namespace

std::string_view find_string_field(std::string_view text, std::string_view key) {
  const auto at = text.find(key);
  if (at == std::string_view::npos) return {};
  const auto begin = at + key.size();
  const auto end = text.find('"', begin);
  if (end == std::string_view::npos) return {};
  return text.substr(begin, end - begin);
}

std::optional<payload_fields> payload_fields::scan(std::string_view text) {
  const auto seq = find_integer_field(text, "\"seq\":");
  if (!seq) return std::nullopt;
  payload_fields fields;
  fields.seq = *seq;
  fields.sent_ns = find_integer_field(text, "\"sentNs\":").value_or(-1);
  fields.step = static_cast<int>(find_integer_field(text, "\"step\":").value_or(-1));
  fields.job_id = find_string_field(text, "\"jobId\":\"");
  const auto status = find_string_field(text, "\"status\":\"");
  fields.terminal = status == "completed" || status == "failed" || status == "cancelled";
  return fields;
}

}  // namespace progress::bench
