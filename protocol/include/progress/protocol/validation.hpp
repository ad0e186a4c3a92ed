#pragma once
// Validation of protocol v1 payloads. The publisher SDK validates before it
// sends and the bridge validates what it receives, with the same code, so a
// worker and the bridge never disagree about what a valid update is.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "progress/protocol/job_state.hpp"
#include "progress/protocol/topic.hpp"

namespace progress {

inline constexpr std::size_t max_payload_bytes = 64 * 1024;
inline constexpr std::size_t max_json_depth = 16;
inline constexpr std::size_t max_text_length = 4096;  // message, detail, phaseTitle, error.message
inline constexpr std::size_t max_type_length = 64;
// Bounds of a job's stallAfterMs: a second to a week.
inline constexpr std::int64_t min_stall_after_ms = 1000;
inline constexpr std::int64_t max_stall_after_ms = 7LL * 24 * 60 * 60 * 1000;

enum class reject_reason {
  oversize,
  invalid_utf8,
  invalid_json,
  too_deep,
  not_an_object,
  missing_field,
  wrong_type,
  out_of_range,
  invalid_value,
  id_mismatch,
};

// Stable snake_case names, used as metric labels and error codes.
[[nodiscard]] std::string_view to_string(reject_reason reason) noexcept;

struct rejection {
  reject_reason reason;
  std::string field;  // the offending field, empty when the payload as a whole is bad
  std::string message;
};

struct parse_result {
  std::optional<job_state> state;  // set when the payload is valid
  std::optional<rejection> error;  // set otherwise

  [[nodiscard]] explicit operator bool() const noexcept { return state.has_value(); }
};

// Parses a non-empty payload received on the topic of `key`. Never throws on
// bad input. Unknown fields are ignored so that newer workers stay readable.
[[nodiscard]] parse_result parse_update(const job_key& key, std::string_view payload);

// Checks a state built in code (value ranges, id rules, lengths) and, when
// `key` is given, that optional userId/jobId agree with it.
[[nodiscard]] std::optional<rejection> validate(const job_state& state, const job_key* key = nullptr);

// True when `text` is well-formed UTF-8.
[[nodiscard]] bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace progress
