#include "progress/protocol/validation.hpp"

#include <array>
#include <cmath>
#include <cstdint>

#include "payload_json.hpp"

namespace progress {
namespace {

using detail::max_safe_integer;
constexpr std::size_t max_error_code_length = 128;
constexpr std::int64_t max_total_phases = 1000;

rejection reject(reject_reason reason, std::string field, std::string message) {
  return rejection{reason, std::move(field), std::move(message)};
}

// The fields of a job state, in the order they are read: when several are of
// the wrong type, the first of this order is reported.
enum field : std::size_t {
  status_field, progress_field, phase_field, total_phases_field, phase_title_field, message_field,
  detail_field, current_field, total_field, type_field, eta_field, stall_after_field, error_field,
  details_field, seq_field, attempt_field, worker_field, timestamp_field, user_field, job_field, field_count,
};
constexpr std::array<std::string_view, field_count> field_names{
    "status", "progress", "phase", "totalPhases", "phaseTitle", "message", "detail",
    "current", "total", "type", "etaMs", "stallAfterMs", "error", "details", "seq", "attempt", "workerId",
    "timestamp", "userId", "jobId"};

using detail::element;
using element_type = simdjson::dom::element_type;

// Reads the optional fields of a payload object, recording the first type error.
class field_reader {
 public:
  explicit field_reader(const std::array<std::optional<element>, field_count>& fields) : fields_(fields) {}

  [[nodiscard]] const std::optional<rejection>& error() const noexcept { return error_; }

  void text(field f, std::optional<std::string>& out) {
    const auto& value = fields_[f];
    if (!value || error_) return;
    if (!value->is_string()) return wrong_type(f, "a string");
    out = detail::text_of(*value);
  }

  void number(field f, std::optional<double>& out) {
    const auto& value = fields_[f];
    if (!value || error_) return;
    if (!value->is_number()) return wrong_type(f, "a number");
    out = value->get_double().value_unsafe();
  }

  void integer(field f, std::optional<std::int64_t>& out) {
    const auto& value = fields_[f];
    if (!value || error_) return;
    std::int64_t number = 0;
    if ((error_ = detail::read_integer(*value, name(f), number))) return;
    out = number;
  }

  void error_object(field f, std::optional<job_error>& out) {
    const auto& value = fields_[f];
    if (!value || error_) return;
    if (!value->is_object()) return wrong_type(f, "an object {message, code}");
    static constexpr std::array<std::string_view, 2> names{"message", "code"};
    const auto parts = detail::members(value->get_object().value_unsafe(), names);
    if (!parts[0] || !parts[0]->is_string()) {
      error_ = reject(reject_reason::missing_field, "error.message", "error.message must be a string");
      return;
    }
    job_error result{detail::text_of(*parts[0]), std::nullopt};
    if (const auto& code = parts[1]) {
      if (code->is_string()) {
        result.code = detail::text_of(*code);
      } else if (code->type() == element_type::INT64) {
        result.code = std::to_string(code->get_int64().value_unsafe());  // kept as its decimal text
      } else if (code->type() == element_type::UINT64) {
        result.code = std::to_string(code->get_uint64().value_unsafe());
      } else {
        error_ = reject(reject_reason::wrong_type, "error.code", "error.code must be a string");
        return;
      }
    }
    out = std::move(result);
  }

  void object(field f, std::optional<raw_json>& out) {
    const auto& value = fields_[f];
    if (!value || error_) return;
    if (!value->is_object()) return wrong_type(f, "an object");
    out = raw_json::from_compact_text(simdjson::minify(*value));
  }

 private:
  static const char* name(field f) { return field_names[f].data(); }
  void wrong_type(field f, const char* expected) {
    error_ = reject(reject_reason::wrong_type, std::string(field_names[f]),
                    std::string(field_names[f]) + " must be " + expected);
  }

  const std::array<std::optional<element>, field_count>& fields_;
  std::optional<rejection> error_;
};

std::optional<rejection> check_text(const std::optional<std::string>& value, const char* name,
                                    std::size_t limit = max_text_length) {
  if (!value) return std::nullopt;
  if (value->size() > limit) {
    return reject(reject_reason::out_of_range, name,
                  std::string(name) + " is longer than " + std::to_string(limit) + " bytes");
  }
  if (!is_valid_utf8(*value)) {
    return reject(reject_reason::invalid_utf8, name, std::string(name) + " is not valid UTF-8");
  }
  return std::nullopt;
}

std::optional<rejection> check_range(const std::optional<std::int64_t>& value, const char* name,
                                     std::int64_t low, std::int64_t high = max_safe_integer) {
  if (value && (*value < low || *value > high)) {
    return reject(
        reject_reason::out_of_range, name,
        std::string(name) + " must be between " + std::to_string(low) + " and " + std::to_string(high));
  }
  return std::nullopt;
}

std::optional<rejection> check_id(const std::optional<std::string>& value, const char* name) {
  if (value && !is_valid_id(*value)) {
    return reject(reject_reason::invalid_value, name,
                  std::string(name) + " must match [A-Za-z0-9_.-]{1,128} and not be only dots");
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(reject_reason reason) noexcept {
  switch (reason) {
    case reject_reason::oversize: return "oversize";
    case reject_reason::invalid_utf8: return "invalid_utf8";
    case reject_reason::invalid_json: return "invalid_json";
    case reject_reason::too_deep: return "too_deep";
    case reject_reason::not_an_object: return "not_an_object";
    case reject_reason::missing_field: return "missing_field";
    case reject_reason::wrong_type: return "wrong_type";
    case reject_reason::out_of_range: return "out_of_range";
    case reject_reason::invalid_value: return "invalid_value";
    case reject_reason::id_mismatch: return "id_mismatch";
  }
  return "unknown";
}

bool is_valid_utf8(std::string_view text) noexcept {
  // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are invalid.
  return simdjson::validate_utf8(text.data(), text.size());
}

std::optional<rejection> validate(const job_state& state, const job_key* key) {
  if (state.progress &&
      (!std::isfinite(*state.progress) || *state.progress < 0.0 || *state.progress > 100.0)) {
    return reject(reject_reason::out_of_range, "progress", "progress must be a number from 0 to 100");
  }
  if (auto e = check_range(state.total_phases, "totalPhases", 1, max_total_phases)) return e;
  if (auto e = check_range(state.phase, "phase", 0, max_total_phases)) return e;
  if (state.phase && state.total_phases && *state.phase > *state.total_phases) {
    return reject(reject_reason::out_of_range, "phase", "phase must not exceed totalPhases");
  }
  if (auto e = check_text(state.phase_title, "phaseTitle")) return e;
  if (auto e = check_text(state.message, "message")) return e;
  if (auto e = check_text(state.detail, "detail")) return e;
  if (auto e = check_range(state.current, "current", 0)) return e;
  if (auto e = check_range(state.total, "total", 0)) return e;
  if (state.type && (state.type->size() > max_type_length || !is_valid_id(*state.type))) {
    return reject(reject_reason::invalid_value, "type",
                  "type must match [A-Za-z0-9_.-]{1,64} and not be only dots");
  }
  if (auto e = check_range(state.eta_ms, "etaMs", 0)) return e;
  if (auto e = check_range(state.stall_after_ms, "stallAfterMs", min_stall_after_ms, max_stall_after_ms)) return e;
  if (state.error) {
    if (state.error->message.empty()) {
      return reject(reject_reason::invalid_value, "error.message", "error.message must not be empty");
    }
    if (auto e = check_text(state.error->message, "error.message")) return e;
    if (auto e = check_text(state.error->code, "error.code", max_error_code_length)) return e;
  }
  if (state.details && !state.details->is_object()) {
    return reject(reject_reason::wrong_type, "details", "details must be an object");
  }
  if (auto e = check_range(state.seq, "seq", 0)) return e;
  if (auto e = check_range(state.attempt, "attempt", 0)) return e;
  if (auto e = check_range(state.timestamp, "timestamp", 0)) return e;
  if (auto e = check_id(state.worker_id, "workerId")) return e;
  if (auto e = check_id(state.user_id, "userId")) return e;
  if (auto e = check_id(state.job_id, "jobId")) return e;
  if (key != nullptr) {
    if (state.user_id && *state.user_id != key->user_id) {
      return reject(reject_reason::id_mismatch, "userId", "userId differs from the topic's user id");
    }
    if (state.job_id && *state.job_id != key->job_id) {
      return reject(reject_reason::id_mismatch, "jobId", "jobId differs from the topic's job id");
    }
  }
  return std::nullopt;
}

parse_result parse_update(const job_key& key, std::string_view payload) {
  const auto fail = [](reject_reason reason, std::string field, std::string message) {
    return parse_result{std::nullopt, reject(reason, std::move(field), std::move(message))};
  };
  auto parsed = detail::parse_payload_object(payload, max_payload_bytes);
  if (auto* problem = std::get_if<rejection>(&parsed)) return parse_result{std::nullopt, std::move(*problem)};
  const auto fields = detail::members(std::get<simdjson::dom::object>(parsed), field_names);

  const auto& status_value = fields[status_field];
  if (!status_value) return fail(reject_reason::missing_field, "status", "status is required");
  if (!status_value->is_string()) return fail(reject_reason::wrong_type, "status", "status must be a string");
  const auto status = parse_job_status(status_value->get_string().value_unsafe());
  if (!status) {
    return fail(reject_reason::invalid_value, "status",
                "status must be one of queued, started, in_progress, completed, failed, cancelled");
  }

  job_state state;
  state.status = *status;
  field_reader read(fields);
  read.number(progress_field, state.progress);
  read.integer(phase_field, state.phase);
  read.integer(total_phases_field, state.total_phases);
  read.text(phase_title_field, state.phase_title);
  read.text(message_field, state.message);
  read.text(detail_field, state.detail);
  read.integer(current_field, state.current);
  read.integer(total_field, state.total);
  read.text(type_field, state.type);
  read.integer(eta_field, state.eta_ms);
  read.integer(stall_after_field, state.stall_after_ms);
  read.error_object(error_field, state.error);
  read.object(details_field, state.details);
  read.integer(seq_field, state.seq);
  read.integer(attempt_field, state.attempt);
  read.text(worker_field, state.worker_id);
  read.integer(timestamp_field, state.timestamp);
  read.text(user_field, state.user_id);
  read.text(job_field, state.job_id);
  if (read.error()) return parse_result{std::nullopt, read.error()};

  if (auto problem = validate(state, &key)) return parse_result{std::nullopt, std::move(problem)};
  return parse_result{std::move(state), std::nullopt};
}

}  // namespace progress
