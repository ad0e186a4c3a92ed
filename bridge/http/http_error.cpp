#include "http_error.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace progress::bridge {

http_response json_response(const http_request& req, http::status status, std::string body) {
  http_response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

http_response error_response(const http_request& req, http::status status, std::string_view code,
                             std::string_view message) {
  // nlohmann escapes the message; it may quote request data. Invalid UTF-8 is
  // replaced rather than thrown on.
  const nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
  return json_response(req, status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

http_response bad_request(const http_request& req, std::string_view message) {
  return error_response(req, http::status::bad_request, "bad_request", message);
}

http_response unauthorized(const http_request& req, std::string_view code, std::string_view message,
                           bool invalid_token) {
  auto res = error_response(req, http::status::unauthorized, code, message);
  res.set(http::field::www_authenticate, invalid_token
                                             ? R"(Bearer realm="progress-bridge", error="invalid_token")"
                                             : R"(Bearer realm="progress-bridge")");
  return res;
}

http_response forbidden(const http_request& req, std::string_view message) {
  return error_response(req, http::status::forbidden, "forbidden", message);
}

http_response not_found(const http_request& req, std::string_view message) {
  return error_response(req, http::status::not_found, "not_found", message);
}

http_response method_not_allowed(const http_request& req, std::string_view allow) {
  auto res = error_response(req, http::status::method_not_allowed, "method_not_allowed",
                            "method not allowed for this resource");
  res.set(http::field::allow, allow);
  return res;
}

http_response payload_too_large(const http_request& req) {
  auto res =
      error_response(req, http::status::payload_too_large, "payload_too_large", "request body too large");
  res.keep_alive(false);  // the unread body is still on the wire
  return res;
}

http_response header_fields_too_large(const http_request& req) {
  auto res = error_response(req, http::status::request_header_fields_too_large, "header_too_large",
                            "request header too large");
  res.keep_alive(false);
  return res;
}

http_response too_many_requests(const http_request& req, std::chrono::seconds retry_after) {
  auto res = error_response(req, http::status::too_many_requests, "rate_limited", "too many requests");
  res.set(http::field::retry_after,
          std::to_string(std::max<std::chrono::seconds::rep>(1, retry_after.count())));
  return res;
}

http_response service_unavailable(const http_request& req, std::string_view message) {
  return error_response(req, http::status::service_unavailable, "not_ready", message);
}

http_response too_many_connections(const http_request& req) {
  return error_response(req, http::status::service_unavailable, "too_many_connections",
                        "this address holds all the connections one address may");
}

}  // namespace progress::bridge
