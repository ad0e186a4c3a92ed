#pragma once
// What a route's handler is given: one request, already matched, rate-limited
// and authenticated as its route requires (route_table).
#include "http_types.hpp"
#include "principal.hpp"
#include "query_string.hpp"
#include "router.hpp"

namespace progress::bridge {

struct api_call {
  const http_request& req;
  const request_info& info;
  const route_params& params;
  const query_params& query;
  // The token's principal on routes that require one; null on open routes.
  const principal* who = nullptr;
};

}  // namespace progress::bridge
