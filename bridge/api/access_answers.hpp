#pragma once
// An access_denial as the HTTP answer every route gives for it: 429 with
// Retry-After, 401 with a Bearer challenge, 400 or 403.
#include <string>
#include <variant>

#include "access_policy.hpp"
#include "api_call.hpp"
#include "http_error.hpp"
#include "http_types.hpp"
#include "progress/protocol/topic.hpp"

namespace progress::bridge {

[[nodiscard]] http_response denial_response(const http_request& req, const access_denial& denial);

// The job the call's path names ({userId}, {jobId}) once `granted` lets the
// caller at that user's jobs; otherwise the answer refusing it (400 for an
// invalid job id).
template <typename Grant>
[[nodiscard]] std::variant<job_key, http_response> job_in_path(const api_call& call, const access<Grant>& granted) {
  if (const auto* denied = std::get_if<access_denial>(&granted)) return denial_response(call.req, *denied);
  const auto job_id = call.params.get("jobId");
  if (!is_valid_id(job_id)) return bad_request(call.req, "invalid job id");
  return job_key{std::string(call.params.get("userId")), std::string(job_id)};
}

}  // namespace progress::bridge
