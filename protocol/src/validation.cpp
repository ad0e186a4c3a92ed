#include "progress/protocol/validation.hpp"

#include <cmath>
#include <cstdint>

#include "payload_json.hpp"

namespace progress {
namespace {

using nlohmann::json;

using detail::max_safe_integer;
constexpr std::size_t max_error_code_length = 128;
constexpr std::int64_t max_total_phases = 1000;

rejection reject(reject_reason reason, std::string field, std::string message) {
  return rejection{reason, std::move(field), std::move(message)};
}

// Reads the optional fields of a payload object, recording the first type error.
class field_reader {
 public:
  explicit field_reader(const json& object) : object_(object) {}

  [[nodiscard]] const std::optional<rejection>& error() const noexcept { return error_; }

  const json* find(const char* name) const {
    const auto it = object_.find(name);
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  void text(const char* name, std::optional<std::string>& out) {
    const json* value = find(name);
    if (value == nullptr || error_) return;
    if (!value->is_string()) return wrong_type(name, "a string");
    out = value->get<std::string>();
  }

  void number(const char* name, std::optional<double>& out) {
    const json* value = find(name);
    if (value == nullptr || error_) return;
    if (!value->is_number()) return wrong_type(name, "a number");
    out = value->get<double>();
  }

  void integer(const char* name, std::optional<std::int64_t>& out) {
    const json* value = find(name);
    if (value == nullptr || error_) return;
    std::int64_t number = 0;
    if ((error_ = detail::read_integer(*value, name, number))) return;
    out = number;
  }

  void error_object(const char* name, std::optional<job_error>& out) {
    const json* value = find(name);
    if (value == nullptr || error_) return;
    if (!value->is_object()) return wrong_type(name, "an object {message, code}");
    const json message = value->value("message", json());
    if (!message.is_string()) {
      error_ = reject(reject_reason::missing_field, "error.message", "error.message must be a string");
      return;
    }
    job_error result{message.get<std::string>(), std::nullopt};
    const auto code = value->find("code");
    if (code != value->end() && !code->is_null()) {
      if (code->is_string()) {
        result.code = code->get<std::string>();
      } else if (code->is_number_integer()) {
        result.code = code->dump();  // numeric codes are kept as their decimal text
      } else {
        return wrong_type("error.code", "a string");
      }
    }
    out = std::move(result);
  }

  void object(const char* name, std::optional<json>& out) {
    const json* value = find(name);
    if (value == nullptr || error_) return;
    if (!value->is_object()) return wrong_type(name, "an object");
    out = *value;
  }

 private:
  void wrong_type(const char* name, const char* expected) {
    error_ = reject(reject_reason::wrong_type, name, std::string(name) + " must be " + expected);
  }

  const json& object_;
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
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t extra = 0;
    std::uint32_t code = 0;
    std::uint32_t min_code = 0;
    if ((c & 0xE0) == 0xC0) {
      extra = 1, code = c & 0x1Fu, min_code = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, code = c & 0x0Fu, min_code = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, code = c & 0x07u, min_code = 0x10000;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= extra) return false;
    for (std::size_t i = 1; i <= extra; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      code = (code << 6) | (p[i] & 0x3Fu);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are invalid.
    if (code < min_code || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    p += extra + 1;
  }
  return true;
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
  auto parsed = detail::parse_payload_json(payload, max_payload_bytes);
  if (auto* problem = std::get_if<rejection>(&parsed)) return parse_result{std::nullopt, std::move(*problem)};
  const json document = std::move(std::get<json>(parsed));
  if (!document.is_object()) return fail(reject_reason::not_an_object, "", "payload must be a JSON object");

  const auto status_field = document.find("status");
  if (status_field == document.end() || status_field->is_null()) {
    return fail(reject_reason::missing_field, "status", "status is required");
  }
  if (!status_field->is_string()) return fail(reject_reason::wrong_type, "status", "status must be a string");
  const auto status = parse_job_status(status_field->get_ref<const std::string&>());
  if (!status) {
    return fail(reject_reason::invalid_value, "status",
                "status must be one of queued, started, in_progress, completed, failed, cancelled");
  }

  job_state state;
  state.status = *status;
  field_reader read(document);
  read.number("progress", state.progress);
  read.integer("phase", state.phase);
  read.integer("totalPhases", state.total_phases);
  read.text("phaseTitle", state.phase_title);
  read.text("message", state.message);
  read.text("detail", state.detail);
  read.integer("current", state.current);
  read.integer("total", state.total);
  read.text("type", state.type);
  read.integer("etaMs", state.eta_ms);
  read.integer("stallAfterMs", state.stall_after_ms);
  read.error_object("error", state.error);
  read.object("details", state.details);
  read.integer("seq", state.seq);
  read.integer("attempt", state.attempt);
  read.text("workerId", state.worker_id);
  read.integer("timestamp", state.timestamp);
  read.text("userId", state.user_id);
  read.text("jobId", state.job_id);
  if (read.error()) return parse_result{std::nullopt, read.error()};

  if (auto problem = validate(state, &key)) return parse_result{std::nullopt, std::move(problem)};
  return parse_result{std::move(state), std::nullopt};
}

}  // namespace progress
