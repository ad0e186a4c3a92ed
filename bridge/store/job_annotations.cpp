#include "job_annotations.hpp"

#include <nlohmann/json.hpp>

namespace progress::bridge {

std::string_view to_string(stall_reason reason) noexcept {
  switch (reason) {
    case stall_reason::worker_offline: return "worker_offline";
    case stall_reason::silent: return "silent";
  }
  return "silent";
}

void append_annotations(std::string& json, const job_annotations& notes) {
  if (notes.empty() || json.empty() || json.back() != '}') return;
  nlohmann::json members = nlohmann::json::object();
  if (notes.cancel_requested) {
    const auto& cancel = *notes.cancel_requested;
    members["cancelRequested"] = {
        {"requestId", cancel.request_id}, {"requestedBy", cancel.requested_by}, {"at", cancel.at_ms}};
  }
  if (notes.stalled) {
    members["stalled"] = {{"reason", to_string(notes.stalled->reason)}, {"since", notes.stalled->since_ms}};
  }
  // `{"a":..}` into `{..,` + `"a":..}`: the object's members without its opening brace.
  const auto text = members.dump();
  json.pop_back();
  if (json.size() > 1) json += ',';
  json.append(text, 1);
}

}  // namespace progress::bridge
