#include "progress/protocol/job_state.hpp"

namespace progress {
namespace {

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
  put(out, "error", state.error);
  put(out, "details", state.details);
  put(out, "seq", state.seq);
  put(out, "attempt", state.attempt);
  put(out, "workerId", state.worker_id);
  put(out, "timestamp", state.timestamp);
}

}  // namespace progress
