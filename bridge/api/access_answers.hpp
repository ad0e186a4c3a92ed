#pragma once
// An access_denial as the HTTP answer every route gives for it: 429 with
// Retry-After, 401 with a Bearer challenge, 400 or 403.
#include "access_policy.hpp"
#include "http_types.hpp"

namespace progress::bridge {

[[nodiscard]] http_response denial_response(const http_request& req, const access_denial& denial);

}  // namespace progress::bridge
