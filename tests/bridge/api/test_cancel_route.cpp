#include "api_service.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "job_fixtures.hpp"
#include "token_issuer.hpp"

namespace progress::bridge {
namespace {

using fixtures::state;
using nlohmann::json;

constexpr std::string_view secret = "test-secret-that-is-at-least-32-bytes-long";
const std::string target = "/api/v1/users/alice/jobs/j1/cancel";

// The API with a cancel channel that records the requests it is given.
class CancelRouteTest : public ::testing::Test {
 protected:
  CancelRouteTest() {
    store_.apply({"alice", "j1"}, state(job_status::in_progress, 1), 1000);
    store_.apply({"alice", "done"}, state(job_status::completed, 1), 1000);
  }

  api_service& api() {
    if (!api_) {
      api_ = std::make_shared<api_service>(
          store_, hub_, metrics_, access_, nullptr, [] { return true; },
          api_options{.cors_origins = {"https://app.example"},
                      .streams = {},
                      .cancel = cancel_channel{
                          .connected = [this] { return connected_; },
                          .request = [this](const job_key& key,
                                            const control_message& message) { asked_.emplace_back(key, message); },
                      }});
    }
    return *api_;
  }

  http_response post(const std::string& path, const std::string& bearer) {
    http_request req{http::verb::post, path, 11};
    if (!bearer.empty()) req.set(http::field::authorization, "Bearer " + bearer);
    return send(req);
  }

  http_response send(const http_request& req) {
    auto answer = api().serve(req, request_info{"127.0.0.1", "127.0.0.1", std::chrono::steady_clock::now()});
    auto* res = std::get_if<http_response>(&answer);
    EXPECT_TRUE(res);
    return res ? std::move(*res) : http_response{};
  }

  static std::string token(const std::string& user, bool admin = false) {
    return mint_token(secret, user, admin, std::chrono::hours{1});
  }
  static std::string code_of(const http_response& res) {
    const auto body = json::parse(res.body(), nullptr, false);
    return body.is_object() && body.contains("error") ? body["error"].value("code", "") : "";
  }

  job_store store_;
  metrics metrics_;
  jwt_verifier verifier_{jwt_verifier_options{std::string(secret), {}, std::chrono::seconds{30}}};
  access_policy access_{verifier_, metrics_, access_limits{.rate_limit = 1, .rate_limit_burst = 8}};
  net::io_context ioc_;
  std::shared_ptr<stream_hub> hub_ = std::make_shared<stream_hub>(ioc_, store_);
  bool connected_ = true;
  std::vector<std::pair<job_key, control_message>> asked_;
  std::shared_ptr<api_service> api_;
};

TEST_F(CancelRouteTest, TheOwnerAsksAndGetsTheRequestId) {
  const auto res = post(target, token("alice"));
  ASSERT_EQ(res.result(), http::status::accepted) << res.body();
  const auto body = json::parse(res.body());
  ASSERT_EQ(asked_.size(), 1u);
  EXPECT_EQ(asked_[0].first, (job_key{"alice", "j1"}));
  const auto& message = asked_[0].second;
  EXPECT_TRUE(message.is_cancel());
  EXPECT_EQ(body["requestId"], message.request_id);
  EXPECT_TRUE(is_valid_request_id(message.request_id));
  EXPECT_EQ(message.requested_by, "alice");
  EXPECT_GT(message.timestamp, 0);
}

TEST_F(CancelRouteTest, AnAdminMayCancelAnyonesJob) {
  ASSERT_EQ(post(target, token("ops", true)).result(), http::status::accepted);
  ASSERT_EQ(asked_.size(), 1u);
  EXPECT_EQ(asked_[0].second.requested_by, "ops");
}

TEST_F(CancelRouteTest, APendingRequestAnswersWithItsId) {
  store_.annotate({"alice", "j1"}, [](job_annotations& notes) {
    notes.cancel_requested = cancel_mark{"c-first", "alice", 5};
  });
  const auto res = post(target, token("alice"));
  ASSERT_EQ(res.result(), http::status::accepted);
  EXPECT_EQ(json::parse(res.body())["requestId"], "c-first");
  EXPECT_TRUE(asked_.empty());
}

TEST_F(CancelRouteTest, RefusesOthersUnknownAndFinishedJobs) {
  EXPECT_EQ(post(target, token("bob")).result(), http::status::forbidden);
  EXPECT_EQ(post("/api/v1/users/alice/jobs/nope/cancel", token("alice")).result(), http::status::not_found);
  const auto finished = post("/api/v1/users/alice/jobs/done/cancel", token("alice"));
  EXPECT_EQ(finished.result(), http::status::conflict);
  EXPECT_EQ(code_of(finished), "job_finished");
  EXPECT_EQ(post("/api/v1/users/alice/jobs/a%2Fb/cancel", token("alice")).result(), http::status::bad_request);
  EXPECT_TRUE(asked_.empty());
}

TEST_F(CancelRouteTest, WithoutTheBrokerTheAnswerIs503) {
  connected_ = false;
  const auto res = post(target, token("alice"));
  EXPECT_EQ(res.result(), http::status::service_unavailable);
  EXPECT_EQ(code_of(res), "broker_unavailable");
  EXPECT_TRUE(asked_.empty());
}

TEST_F(CancelRouteTest, TakesTheTokenFromTheAuthorizationHeaderOnly) {
  const auto by_query = post(target + "?access_token=" + token("alice"), "");
  EXPECT_EQ(by_query.result(), http::status::unauthorized);
  EXPECT_EQ(code_of(by_query), "token_missing");
  EXPECT_TRUE(asked_.empty());
  EXPECT_EQ(post(target, "").result(), http::status::unauthorized);
}

TEST_F(CancelRouteTest, IsRateLimitedLikeEveryApiRoute) {
  unsigned refused = 0;
  for (int i = 0; i < 10; ++i) {
    const auto res = post("/api/v1/users/alice/jobs/nope/cancel", token("alice"));
    if (res.result() == http::status::too_many_requests) ++refused;
  }
  EXPECT_GE(refused, 1u);
}

TEST_F(CancelRouteTest, OtherMethodsAreNotAllowedAndPreflightsNamePost) {
  http_request get{http::verb::get, target, 11};
  get.set(http::field::authorization, "Bearer " + token("alice"));
  const auto res = send(get);
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
  EXPECT_EQ(res[http::field::allow], "POST, OPTIONS");

  http_request preflight{http::verb::options, target, 11};
  preflight.set(http::field::origin, "https://app.example");
  preflight.set(http::field::access_control_request_method, "POST");
  const auto answer = send(preflight);
  EXPECT_EQ(answer.result(), http::status::no_content);
  EXPECT_EQ(answer[http::field::access_control_allow_methods], "POST, OPTIONS");
}

}  // namespace
}  // namespace progress::bridge
