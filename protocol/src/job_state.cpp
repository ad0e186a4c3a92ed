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

// The shortest round-trip digits, laid out as nlohmann::json writes them:
// plain decimals while the decimal point falls within -4 < n <= 15 places of
// the first digit ("0.0001", "12.5", "3.0"), d.ddde+XX beyond ("1e-05").
void append_number(std::string& out, double value) {
  std::array<char, 40> buffer{};
  const auto result =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::scientific);
  std::string_view text(buffer.data(), static_cast<std::size_t>(result.ptr - buffer.data()));
  if (!text.empty() && text.front() == '-') {
    out += '-';
    text.remove_prefix(1);
  }
  const auto e = text.find('e');
  if (e == std::string_view::npos) {  // inf or nan: validation never lets them through
    out += text;
    return;
  }
  std::string digits(1, text[0]);
  if (e > 2) digits.append(text.substr(2, e - 2));  // the digits after "d."
  int exponent = 0;
  const auto exponent_text = text.substr(text[e + 1] == '+' ? e + 2 : e + 1);
  std::from_chars(exponent_text.data(), exponent_text.data() + exponent_text.size(), exponent);

  constexpr int min_exp = -4;
  constexpr int max_exp = 15;
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;  // where the decimal point falls, counted from the first digit
  if (k <= n && n <= max_exp) {
    out += digits;
    out.append(static_cast<std::size_t>(n - k), '0');
    out += ".0";
  } else if (0 < n && n <= max_exp) {
    out.append(digits, 0, static_cast<std::size_t>(n));
    out += '.';
    out.append(digits, static_cast<std::size_t>(n));
  } else if (min_exp < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += 'e';
    const int shown = n - 1;
    out += shown < 0 ? '-' : '+';
    const int magnitude = shown < 0 ? -shown : shown;
    if (magnitude < 10) out += '0';
    append_number(out, static_cast<std::int64_t>(magnitude));
  }
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
