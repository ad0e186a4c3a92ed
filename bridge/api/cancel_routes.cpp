#include "cancel_routes.hpp"

#include <array>
#include <random>

#include <nlohmann/json.hpp>

#include "access_answers.hpp"
#include "http_error.hpp"
#include "unix_time.hpp"

namespace progress::bridge {

namespace {

// "c-" and 16 random hex digits: unguessable enough to tell requests apart, a valid request id.
std::string new_request_id() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  static constexpr std::array<char, 16> hex{'0', '1', '2', '3', '4', '5', '6', '7',
                                            '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  std::string id = "c-";
  auto bits = random();
  for (int i = 0; i < 16; ++i, bits >>= 4U) id += hex[bits & 0xFU];
  return id;
}

http_response accepted(const http_request& req, const std::string& request_id) {
  return json_response(req, http::status::accepted, nlohmann::json{{"requestId", request_id}}.dump());
}

}  // namespace

cancel_routes::cancel_routes(const job_store& store, const access_policy& access, cancel_channel channel)
    : store_(store), access_(access), channel_(std::move(channel)) {}

http_response cancel_routes::cancel_job(const api_call& call) const {
  auto key = job_in_path(call, access_.authorize_cancel(*call.who, call.params.get("userId")));
  if (auto* refused = std::get_if<http_response>(&key)) return std::move(*refused);
  const auto& job_key = std::get<progress::job_key>(key);
  const auto job = store_.find(job_key);
  if (!job) return not_found(call.req, "no such job");
  if (is_terminal(job->facts.status)) {
    return error_response(call.req, http::status::conflict, "job_finished",
                          "the job already ended (" + std::string(to_string(job->facts.status)) + ")");
  }
  if (job->notes.cancel_requested) return accepted(call.req, job->notes.cancel_requested->request_id);
  if (!channel_.connected || !channel_.connected() || !channel_.request) {
    return error_response(call.req, http::status::service_unavailable, "broker_unavailable",
                          "the bridge is not connected to the broker; try again later");
  }
  const control_message message{std::string(cancel_action), new_request_id(), call.who->user_id,
                                unix_ms_now()};
  channel_.request(job_key, message);
  return accepted(call.req, message.request_id);
}

}  // namespace progress::bridge
