#include "progress/protocol/job_state.hpp"

#include <array>
#include <charconv>

namespace progress {
namespace {

void append_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t plain = 0;  // start of the run of characters that need no escape
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte != '"' && byte != '\\') continue;
    out.append(text.data() + plain, i - plain);
    plain = i + 1;
    switch (byte) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += hex[byte >> 4U];
        out += hex[byte & 0xFU];
    }
  }
  out.append(text.data() + plain, text.size() - plain);
  out += '"';
}

void append_number(std::string& out, std::int64_t value) {
  std::array<char, 24> digits{};
  const auto result = std::to_chars(digits.data(), digits.data() + digits.size(), value);
  out.append(digits.data(), result.ptr);
}

// nlohmann::json's own digits and layout (Grisu2: round-trip, not always the
// shortest; "0.0001", "3.0", "1e-05"), so the text matches what it writes byte
// for byte, as the fuzz target checks. Validation lets only finite numbers in.
void append_number(std::string& out, double value) {
  std::array<char, 64> buffer{};
  char* end = nlohmann::detail::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  out.append(buffer.data(), end);
}

// Writes `"name":` with the separator the previous member needs. Keys are
// given quoted with their colon (`"\"seq\":"`): one append each.
class member_writer {
 public:
  explicit member_writer(std::string& out) : out_(out) { out_ += '{'; }
  std::string& name(std::string_view quoted_key) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += quoted_key;  // our own keys: nothing to escape
    return out_;
  }
  template <typename T>
  void number(std::string_view quoted_key, const std::optional<T>& value) {
    if (value) append_number(name(quoted_key), *value);
  }
  void string(std::string_view quoted_key, const std::optional<std::string>& value) {
    if (value) append_string(name(quoted_key), *value);
  }
  void close() { out_ += '}'; }

 private:
  std::string& out_;
  bool first_ = true;
};

template <typename T>
void put(nlohmann::json& out, const char* name, const std::optional<T>& value) {
  if (value) out[name] = *value;
}

}  // namespace

void to_json(nlohmann::json& out, const job_error& error) {
  out = nlohmann::json::object();
  out["message"] = error.message;
  put(out, "code", error.code);
}

void to_json(nlohmann::json& out, const job_state& state) {
  out = nlohmann::json::object();
  put(out, "userId", state.user_id);
  put(out, "jobId", state.job_id);
  out["status"] = to_string(state.status);
  put(out, "progress", state.progress);
  put(out, "phase", state.phase);
  put(out, "totalPhases", state.total_phases);
  put(out, "phaseTitle", state.phase_title);
  put(out, "message", state.message);
  put(out, "detail", state.detail);
  put(out, "current", state.current);
  put(out, "total", state.total);
  put(out, "type", state.type);
  put(out, "etaMs", state.eta_ms);
  put(out, "stallAfterMs", state.stall_after_ms);
  put(out, "error", state.error);
  put(out, "details", state.details);
  put(out, "seq", state.seq);
  put(out, "attempt", state.attempt);
  put(out, "workerId", state.worker_id);
  put(out, "timestamp", state.timestamp);
}

void append_json(std::string& out, const job_state& state, std::optional<std::int64_t> updated_at) {
  member_writer w{out};
  // Sorted like the keys of a nlohmann::json object.
  w.number(R"("attempt":)", state.attempt);
  w.number(R"("current":)", state.current);
  w.string(R"("detail":)", state.detail);
  // As the worker sent it: compact, keys in the worker's order.
  if (state.details) w.name(R"("details":)") += state.details->text();
  if (state.error) {
    member_writer e{w.name(R"("error":)")};
    e.string(R"("code":)", state.error->code);
    append_string(e.name(R"("message":)"), state.error->message);
    e.close();
  }
  w.number(R"("etaMs":)", state.eta_ms);
  w.string(R"("jobId":)", state.job_id);
  w.string(R"("message":)", state.message);
  w.number(R"("phase":)", state.phase);
  w.string(R"("phaseTitle":)", state.phase_title);
  w.number(R"("progress":)", state.progress);
  w.number(R"("seq":)", state.seq);
  w.number(R"("stallAfterMs":)", state.stall_after_ms);
  append_string(w.name(R"("status":)"), to_string(state.status));
  w.number(R"("timestamp":)", state.timestamp);
  w.number(R"("total":)", state.total);
  w.number(R"("totalPhases":)", state.total_phases);
  w.string(R"("type":)", state.type);
  w.number(R"("updatedAt":)", updated_at);
  w.string(R"("userId":)", state.user_id);
  w.string(R"("workerId":)", state.worker_id);
  w.close();
}

}  // namespace progress
