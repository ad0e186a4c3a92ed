#pragma once
// Every error the bridge answers over HTTP has the same JSON shape,
//   {"error":{"code":"not_found","message":"no such job"}}
// and the status and headers the HTTP and Bearer-token RFCs ask for.
#include <chrono>
#include <string>
#include <string_view>

#include "http_types.hpp"

namespace progress::bridge {

// A response with a JSON body, mirroring the request's version and keep-alive.
[[nodiscard]] http_response json_response(const http_request& req, http::status status, std::string body);

// {"error":{"code":...,"message":...}} with `status`.
[[nodiscard]] http_response error_response(const http_request& req, http::status status,
                                           std::string_view code, std::string_view message);

[[nodiscard]] http_response bad_request(const http_request& req, std::string_view message);
// 401 with `WWW-Authenticate: Bearer` and the specific `code` ("token_expired", ...);
// `invalid_token` adds error="invalid_token" (RFC 6750: a token was sent but is
// bad, rather than missing).
[[nodiscard]] http_response unauthorized(const http_request& req, std::string_view code,
                                         std::string_view message, bool invalid_token);
[[nodiscard]] http_response forbidden(const http_request& req, std::string_view message);
[[nodiscard]] http_response not_found(const http_request& req, std::string_view message);
[[nodiscard]] http_response method_not_allowed(const http_request& req, std::string_view allow);
[[nodiscard]] http_response payload_too_large(const http_request& req);
[[nodiscard]] http_response header_fields_too_large(const http_request& req);
// 429 with `Retry-After` in whole seconds (at least 1).
[[nodiscard]] http_response too_many_requests(const http_request& req, std::chrono::seconds retry_after);
[[nodiscard]] http_response service_unavailable(const http_request& req, std::string_view message);
// 503 `too_many_connections`: the client's address holds all the connections it may.
[[nodiscard]] http_response too_many_connections(const http_request& req);

}  // namespace progress::bridge
