// WebSocket client ops: parse_client_op on any text. What it accepts keeps
// the bounds a stream's scope relies on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "client_op.hpp"
#include "progress/protocol/topic.hpp"
#include "stream_scope.hpp"

using namespace progress::bridge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto op = parse_client_op(std::string_view{reinterpret_cast<const char*>(data), size});
  if (const auto* subscribe = std::get_if<subscribe_op>(&op)) {
    if (subscribe->job_ids.size() > stream_scope::max_job_ids) std::abort();
    if (subscribe->types.size() > stream_scope::max_types) std::abort();
    for (const auto& id : subscribe->job_ids) {
      if (!progress::is_valid_id(id)) std::abort();
    }
    for (const auto& type : subscribe->types) {
      if (type.empty()) std::abort();
    }
  } else if (const auto* resume = std::get_if<resume_op>(&op)) {
    if (resume->jobs.size() > resume_op::max_jobs) std::abort();
    for (const auto& held : resume->jobs) {
      if (!progress::is_valid_id(held.key.user_id) || !progress::is_valid_id(held.key.job_id)) std::abort();
    }
  } else if (const auto* error = std::get_if<client_op_error>(&op)) {
    if (error->code != "bad_request" && error->code != "unknown_op") std::abort();
  }
  return 0;
}
