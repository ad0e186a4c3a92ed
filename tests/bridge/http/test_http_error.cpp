#include "http_error.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace progress::bridge {
namespace {

http_request get_request(unsigned version = 11, bool keep_alive = true) {
  http_request req{http::verb::get, "/x", version};
  req.keep_alive(keep_alive);
  return req;
}

nlohmann::json body_of(const http_response& res) {
  return nlohmann::json::parse(res.body());
}

TEST(HttpError, ShapeAndHeaders) {
  const auto res = error_response(get_request(), http::status::not_found, "not_found", "no such job");
  EXPECT_EQ(res.result(), http::status::not_found);
  EXPECT_EQ(res[http::field::content_type], "application/json");
  EXPECT_EQ(res[http::field::content_length], std::to_string(res.body().size()));
  EXPECT_EQ(body_of(res), (nlohmann::json{{"error", {{"code", "not_found"}, {"message", "no such job"}}}}));
  EXPECT_TRUE(res.keep_alive());
}

TEST(HttpError, MirrorsVersionAndKeepAlive) {
  const auto res = bad_request(get_request(10, false), "x");
  EXPECT_EQ(res.version(), 10u);
  EXPECT_FALSE(res.keep_alive());
}

TEST(HttpError, EscapesMessage) {
  const auto res = bad_request(get_request(), "bad \"id\"\n\xff");
  const auto body = body_of(res);
  EXPECT_EQ(body["error"]["code"], "bad_request");
  EXPECT_EQ(res.result(), http::status::bad_request);
}

TEST(HttpError, UnauthorizedCarriesBearerChallenge) {
  const auto missing = unauthorized(get_request(), "token_missing", "missing token", false);
  EXPECT_EQ(missing.result(), http::status::unauthorized);
  EXPECT_EQ(missing[http::field::www_authenticate], R"(Bearer realm="progress-bridge")");
  const auto invalid = unauthorized(get_request(), "token_expired", "token expired", true);
  EXPECT_EQ(invalid[http::field::www_authenticate],
            R"(Bearer realm="progress-bridge", error="invalid_token")");
  EXPECT_EQ(body_of(invalid)["error"]["code"], "token_expired");
  EXPECT_EQ(body_of(missing)["error"]["code"], "token_missing");
}

TEST(HttpError, StatusesAndCodes) {
  EXPECT_EQ(forbidden(get_request(), "m").result(), http::status::forbidden);
  EXPECT_EQ(body_of(forbidden(get_request(), "m"))["error"]["code"], "forbidden");
  EXPECT_EQ(body_of(service_unavailable(get_request(), "m"))["error"]["code"], "not_ready");
  EXPECT_EQ(service_unavailable(get_request(), "m").result(), http::status::service_unavailable);
}

TEST(HttpError, MethodNotAllowedHasAllow) {
  const auto res = method_not_allowed(get_request(), "GET, OPTIONS");
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
  EXPECT_EQ(res[http::field::allow], "GET, OPTIONS");
  EXPECT_EQ(body_of(res)["error"]["code"], "method_not_allowed");
}

TEST(HttpError, PayloadTooLargeClosesConnection) {
  const auto res = payload_too_large(get_request());
  EXPECT_EQ(res.result(), http::status::payload_too_large);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(body_of(res)["error"]["code"], "payload_too_large");
}

TEST(HttpError, TooManyRequestsHasRetryAfterOfAtLeastOneSecond) {
  EXPECT_EQ(too_many_requests(get_request(), std::chrono::seconds{3})[http::field::retry_after], "3");
  EXPECT_EQ(too_many_requests(get_request(), std::chrono::seconds{0})[http::field::retry_after], "1");
  EXPECT_EQ(body_of(too_many_requests(get_request(), std::chrono::seconds{1}))["error"]["code"],
            "rate_limited");
}

}  // namespace
}  // namespace progress::bridge
