#include "router.hpp"

#include <string>

#include <gtest/gtest.h>

namespace progress::bridge {
namespace {

using boost::beast::http::verb;

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    routes_.add(verb::get, "/healthz", 1);
    routes_.add(verb::get, "/api/v1/users/{userId}/jobs", 2);
    routes_.add(verb::get, "/api/v1/users/{userId}/jobs/{jobId}", 3);
    routes_.add(verb::get, "/api/v1/users/{userId}/jobs/{jobId}/events", 4);
    routes_.add(verb::delete_, "/api/v1/users/{userId}/jobs/{jobId}", 5);
  }
  router<int> routes_;
};

TEST_F(RouterTest, MatchesLiteralPath) {
  const auto m = routes_.match(verb::get, "/healthz");
  ASSERT_EQ(m.status, route_status::matched);
  EXPECT_EQ(*m.handler, 1);
  EXPECT_EQ(m.pattern, "/healthz");
  EXPECT_EQ(m.params.size(), 0u);
}

TEST_F(RouterTest, CapturesParameters) {
  const auto m = routes_.match(verb::get, "/api/v1/users/alice/jobs/job-1/events");
  ASSERT_EQ(m.status, route_status::matched);
  EXPECT_EQ(*m.handler, 4);
  EXPECT_EQ(m.pattern, "/api/v1/users/{userId}/jobs/{jobId}/events");
  EXPECT_EQ(m.params.get("userId"), "alice");
  EXPECT_EQ(m.params.get("jobId"), "job-1");
  EXPECT_EQ(m.params.get("nope"), "");
}

TEST_F(RouterTest, PicksRouteByMethod) {
  const auto m = routes_.match(verb::delete_, "/api/v1/users/alice/jobs/j");
  ASSERT_EQ(m.status, route_status::matched);
  EXPECT_EQ(*m.handler, 5);
}

TEST_F(RouterTest, PercentDecodesParameters) {
  const auto m = routes_.match(verb::get, "/api/v1/users/al%69ce/jobs/a%2Fb");
  ASSERT_EQ(m.status, route_status::matched);
  EXPECT_EQ(m.params.get("userId"), "alice");
  EXPECT_EQ(m.params.get("jobId"), "a/b");  // decoded; the id check rejects it later
}

TEST_F(RouterTest, UnknownPathIsNotFound) {
  EXPECT_EQ(routes_.match(verb::get, "/nope").status, route_status::not_found);
  EXPECT_EQ(routes_.match(verb::get, "/").status, route_status::not_found);
  EXPECT_EQ(routes_.match(verb::get, "").status, route_status::not_found);
  EXPECT_EQ(routes_.match(verb::get, "/healthz/").status, route_status::not_found);
  EXPECT_EQ(routes_.match(verb::get, "/api/v1/users/alice/jobs/j/x").status, route_status::not_found);
  EXPECT_EQ(routes_.match(verb::get, "healthz").status, route_status::not_found);
}

TEST_F(RouterTest, EmptyParameterSegmentDoesNotMatch) {
  EXPECT_EQ(routes_.match(verb::get, "/api/v1/users//jobs").status, route_status::not_found);
  EXPECT_EQ(routes_.match(verb::get, "/api/v1/users/alice/jobs/").status, route_status::not_found);
}

TEST_F(RouterTest, MalformedEscapeInParameterDoesNotMatch) {
  EXPECT_EQ(routes_.match(verb::get, "/api/v1/users/%zz/jobs").status, route_status::not_found);
}

TEST_F(RouterTest, KnownPathWrongMethodListsAllowedMethods) {
  const auto m = routes_.match(verb::post, "/api/v1/users/alice/jobs/j");
  EXPECT_EQ(m.status, route_status::method_not_allowed);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.allow, "GET, DELETE, OPTIONS");
  EXPECT_EQ(m.pattern, "/api/v1/users/{userId}/jobs/{jobId}");

  const auto h = routes_.match(verb::put, "/healthz");
  EXPECT_EQ(h.status, route_status::method_not_allowed);
  EXPECT_EQ(h.allow, "GET, OPTIONS");
}

}  // namespace
}  // namespace progress::bridge
