#include "cors_policy.hpp"

#include <gtest/gtest.h>

namespace progress::bridge {
namespace {

http_request request_from(std::string_view origin, http::verb method = http::verb::get) {
  http_request req{method, "/api/v1/jobs", 11};
  if (!origin.empty()) req.set(http::field::origin, origin);
  return req;
}

http_response ok_response() {
  return http_response{http::status::ok, 11};
}

TEST(CorsPolicy, DisabledAddsNothing) {
  const cors_policy cors;
  EXPECT_FALSE(cors.enabled());
  auto res = ok_response();
  cors.apply(request_from("https://app.example"), res);
  EXPECT_EQ(res.count(http::field::access_control_allow_origin), 0u);
  EXPECT_EQ(res.count(http::field::vary), 0u);
}

TEST(CorsPolicy, ListedOriginIsEchoedWithCredentials) {
  const cors_policy cors{{"https://app.example/", "https://other.example"}};
  EXPECT_TRUE(cors.allows("https://app.example"));
  auto res = ok_response();
  cors.apply(request_from("https://app.example"), res);
  EXPECT_EQ(res[http::field::access_control_allow_origin], "https://app.example");
  EXPECT_EQ(res[http::field::access_control_allow_credentials], "true");
  EXPECT_EQ(res[http::field::vary], "Origin");
}

TEST(CorsPolicy, UnlistedOriginGetsOnlyVary) {
  const cors_policy cors{{"https://app.example"}};
  EXPECT_FALSE(cors.allows("https://evil.example"));
  EXPECT_FALSE(cors.allows("https://app.example.evil.example"));
  EXPECT_FALSE(cors.allows(""));
  auto res = ok_response();
  cors.apply(request_from("https://evil.example"), res);
  EXPECT_EQ(res.count(http::field::access_control_allow_origin), 0u);
  EXPECT_EQ(res[http::field::vary], "Origin");
}

TEST(CorsPolicy, WildcardNeverAllowsCredentials) {
  const cors_policy cors{{"*"}};
  auto res = ok_response();
  cors.apply(request_from("https://anyone.example"), res);
  EXPECT_EQ(res[http::field::access_control_allow_origin], "*");
  EXPECT_EQ(res.count(http::field::access_control_allow_credentials), 0u);
}

TEST(CorsPolicy, RecognisesPreflight) {
  auto req = request_from("https://app.example", http::verb::options);
  EXPECT_FALSE(cors_policy::is_preflight(req));
  req.set(http::field::access_control_request_method, "GET");
  EXPECT_TRUE(cors_policy::is_preflight(req));
  EXPECT_FALSE(cors_policy::is_preflight(request_from("https://app.example")));
}

TEST(CorsPolicy, PreflightForAllowedOrigin) {
  const cors_policy cors{{"https://app.example"}};
  auto req = request_from("https://app.example", http::verb::options);
  req.set(http::field::access_control_request_method, "GET");
  const auto res = cors.preflight(req, "GET, OPTIONS");
  EXPECT_EQ(res.result(), http::status::no_content);
  EXPECT_EQ(res[http::field::access_control_allow_origin], "https://app.example");
  EXPECT_EQ(res[http::field::access_control_allow_methods], "GET, OPTIONS");
  EXPECT_EQ(res[http::field::access_control_allow_headers], "Authorization, Content-Type");
  EXPECT_FALSE(res[http::field::access_control_max_age].empty());
}

TEST(CorsPolicy, PreflightForOtherOriginIsForbidden) {
  const cors_policy cors{{"https://app.example"}};
  auto req = request_from("https://evil.example", http::verb::options);
  req.set(http::field::access_control_request_method, "GET");
  const auto res = cors.preflight(req, "GET, OPTIONS");
  EXPECT_EQ(res.result(), http::status::forbidden);
  EXPECT_EQ(res.count(http::field::access_control_allow_origin), 0u);
}

}  // namespace
}  // namespace progress::bridge
