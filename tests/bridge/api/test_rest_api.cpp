#include "api_service.hpp"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http_error.hpp"
#include "progress/protocol/validation.hpp"
#include "token_issuer.hpp"

namespace progress::bridge {
namespace {

using nlohmann::json;

constexpr std::string_view secret = "test-secret-that-is-at-least-32-bytes-long";

struct api_test_options {
  std::vector<std::string> cors_origins;
  double rate_limit = 0;
  double rate_limit_burst = 40;
};

class RestApiTest : public ::testing::Test {
 protected:
  RestApiTest() : verifier_(jwt_verifier_options{std::string(secret), {}, std::chrono::seconds{30}}) {}

  api_service& api(api_test_options options = {}) {
    access_.emplace(
        verifier_, metrics_,
        access_limits{.rate_limit = options.rate_limit, .rate_limit_burst = options.rate_limit_burst});
    api_ = std::make_shared<api_service>(
        store_, hub_, metrics_, *access_, nullptr, [this] { return ready_; },
        api_options{.cors_origins = std::move(options.cors_origins), .streams = {}, .cancel = {}});
    return *api_;
  }

  void publish(const std::string& user, const std::string& job, const std::string& payload,
               std::int64_t now_ms) {
    const job_key key{user, job};
    auto parsed = parse_update(key, payload);
    ASSERT_TRUE(parsed) << parsed.error->message;
    store_.apply(key, std::move(*parsed.state), now_ms);
  }

  static std::string token(const std::string& user, bool admin = false) {
    return mint_token(secret, user, admin, std::chrono::hours{1});
  }

  http_response get(const std::string& target, const std::string& bearer = {},
                    const std::string& remote = "127.0.0.1") {
    http_request req{http::verb::get, target, 11};
    if (!bearer.empty()) req.set(http::field::authorization, "Bearer " + bearer);
    return send(req, remote);
  }

  http_response send(const http_request& req, const std::string& remote = "127.0.0.1") {
    if (!api_) api();
    return response_of(api_->serve(req, request_info{remote, remote, std::chrono::steady_clock::now()}), req);
  }

  // A GET on the admin listener.
  http_response get_admin(const std::string& target, const std::string& remote = "127.0.0.1") {
    if (!api_) api();
    const http_request req{http::verb::get, target, 11};
    admin_door door{api_};
    return response_of(door.serve(req, request_info{remote, remote, std::chrono::steady_clock::now()}), req);
  }

  static http_response response_of(http_answer answer, const http_request& req) {
    EXPECT_TRUE(std::holds_alternative<http_response>(answer)) << req.target() << " handed off a stream";
    if (auto* res = std::get_if<http_response>(&answer)) return std::move(*res);
    return http_response{};
  }

  static std::string error_code(const http_response& res) {
    const auto body = json::parse(res.body(), nullptr, false);
    if (body.is_discarded() || !body.contains("error")) return "<no error body>";
    return body["error"]["code"].get<std::string>();
  }

  job_store store_;
  metrics metrics_;
  jwt_verifier verifier_;
  net::io_context ioc_;
  std::shared_ptr<stream_hub> hub_ = std::make_shared<stream_hub>(ioc_, store_);
  bool ready_ = true;
  std::optional<access_policy> access_;
  std::shared_ptr<api_service> api_;
};

TEST_F(RestApiTest, ListsOwnJobsNewestFirstFromStoredJson) {
  publish("alice", "j1", R"({"status":"in_progress","progress":10,"seq":1})", 1000);
  publish("alice", "j2", R"({"status":"queued","seq":1})", 2000);
  publish("bob", "b1", R"({"status":"queued","seq":1})", 3000);
  const auto res = get("/api/v1/users/alice/jobs", token("alice"));
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  EXPECT_EQ(res[http::field::content_type], "application/json");
  const auto body = json::parse(res.body());
  ASSERT_EQ(body["jobs"].size(), 2u);
  EXPECT_EQ(body["jobs"][0]["jobId"], "j2");
  EXPECT_EQ(body["jobs"][1]["jobId"], "j1");
  EXPECT_EQ(body["jobs"][1]["progress"], 10);
  EXPECT_TRUE(body["nextCursor"].is_null());
  // The body embeds the store's JSON byte for byte.
  const auto stored = store_.find(job_key{"alice", "j2"});
  EXPECT_NE(res.body().find(*stored->json), std::string::npos);
}

TEST_F(RestApiTest, PagesWithCursor) {
  for (int i = 0; i < 5; ++i) {
    publish("alice", "j" + std::to_string(i), R"({"status":"queued","seq":1})", 1000 + i);
  }
  const auto first = json::parse(get("/api/v1/users/alice/jobs?limit=2", token("alice")).body());
  ASSERT_EQ(first["jobs"].size(), 2u);
  EXPECT_EQ(first["jobs"][0]["jobId"], "j4");
  ASSERT_TRUE(first["nextCursor"].is_string());
  const auto second = json::parse(
      get("/api/v1/users/alice/jobs?limit=2&cursor=" + first["nextCursor"].get<std::string>(), token("alice"))
          .body());
  ASSERT_EQ(second["jobs"].size(), 2u);
  EXPECT_EQ(second["jobs"][0]["jobId"], "j2");
  const auto cursor = first["nextCursor"].get<std::string>();
  const auto revision = cursor.substr(cursor.find('.'));
  const auto other_run = std::to_string(store_.epoch() + 1) + revision;
  EXPECT_EQ(get("/api/v1/users/alice/jobs?cursor=" + other_run, token("alice")).result(),
            http::status::bad_request);
}

TEST_F(RestApiTest, FiltersByStatusAndType) {
  publish("alice", "a", R"({"status":"in_progress","type":"render","seq":1})", 1000);
  publish("alice", "b", R"({"status":"completed","type":"render","seq":1})", 1001);
  publish("alice", "c", R"({"status":"queued","type":"export","seq":1})", 1002);
  auto body = json::parse(get("/api/v1/users/alice/jobs?status=active", token("alice")).body());
  EXPECT_EQ(body["jobs"].size(), 2u);
  body = json::parse(get("/api/v1/users/alice/jobs?status=completed", token("alice")).body());
  ASSERT_EQ(body["jobs"].size(), 1u);
  EXPECT_EQ(body["jobs"][0]["jobId"], "b");
  body = json::parse(get("/api/v1/users/alice/jobs?type=render&status=active", token("alice")).body());
  ASSERT_EQ(body["jobs"].size(), 1u);
  EXPECT_EQ(body["jobs"][0]["jobId"], "a");
}

TEST_F(RestApiTest, BadListParametersAre400) {
  const auto t = token("alice");
  for (const char* query :
       {"status=bogus", "limit=0", "limit=501", "limit=x", "limit=-1", "cursor=abc", "cursor=0", "cursor=1.",
        "cursor=1.0", "cursor=-5", "cursor=1.2.3", "cursor=1-2", "type=", "a=%zz"}) {
    const auto res = get(std::string("/api/v1/users/alice/jobs?") + query, t);
    EXPECT_EQ(res.result(), http::status::bad_request) << query;
    EXPECT_EQ(error_code(res), "bad_request") << query;
  }
}

TEST_F(RestApiTest, GetsOneJobAnd404ForUnknown) {
  publish("alice", "j1", R"({"status":"started","seq":1})", 1000);
  const auto res = get("/api/v1/users/alice/jobs/j1", token("alice"));
  ASSERT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res.body(), *store_.find(job_key{"alice", "j1"})->json);
  const auto missing = get("/api/v1/users/alice/jobs/nope", token("alice"));
  EXPECT_EQ(missing.result(), http::status::not_found);
  EXPECT_EQ(error_code(missing), "not_found");
}

TEST_F(RestApiTest, EventsOldestFirstWithSince) {
  publish("alice", "j1", R"({"status":"started","seq":1})", 1000);
  publish("alice", "j1", R"({"status":"in_progress","progress":50,"seq":2})", 1001);
  publish("alice", "j1", R"({"status":"completed","progress":100,"seq":3})", 1002);
  auto body = json::parse(get("/api/v1/users/alice/jobs/j1/events", token("alice")).body());
  ASSERT_EQ(body["events"].size(), 3u);
  EXPECT_EQ(body["events"][0]["seq"], 1);
  EXPECT_EQ(body["events"][0]["state"]["status"], "started");
  EXPECT_EQ(body["events"][2]["state"]["status"], "completed");
  body = json::parse(get("/api/v1/users/alice/jobs/j1/events?since=2", token("alice")).body());
  ASSERT_EQ(body["events"].size(), 1u);
  EXPECT_EQ(body["events"][0]["seq"], 3);
  EXPECT_EQ(get("/api/v1/users/alice/jobs/j1/events?since=-1", token("alice")).result(),
            http::status::bad_request);
  EXPECT_EQ(get("/api/v1/users/alice/jobs/zz/events", token("alice")).result(), http::status::not_found);
}

TEST_F(RestApiTest, Stats) {
  publish("alice", "a", R"({"status":"in_progress","progress":20,"seq":1})", 1000);
  publish("alice", "b", R"({"status":"in_progress","progress":40,"seq":1})", 1000);
  publish("alice", "c", R"({"status":"failed","error":{"message":"x"},"seq":1})", 1000);
  const auto body = json::parse(get("/api/v1/users/alice/stats", token("alice")).body());
  EXPECT_EQ(body["total"], 3);
  EXPECT_EQ(body["active"], 2);
  EXPECT_EQ(body["failed"], 1);
  EXPECT_EQ(body["queued"], 0);
  EXPECT_DOUBLE_EQ(body["averageProgress"].get<double>(), 30.0);
  EXPECT_EQ(body["stalled"], 0);
  store_.annotate({"alice", "b"}, [](job_annotations& notes) { notes.stalled = stall_mark{stall_reason::silent, 5}; });
  EXPECT_EQ(json::parse(get("/api/v1/users/alice/stats", token("alice")).body())["stalled"], 1);
  const auto empty = json::parse(get("/api/v1/users/carol/stats", token("carol")).body());
  EXPECT_EQ(empty["total"], 0);
  EXPECT_TRUE(empty["averageProgress"].is_null());
}

TEST_F(RestApiTest, MissingTokenIs401WithChallenge) {
  const auto res = get("/api/v1/users/alice/jobs");
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_EQ(res[http::field::www_authenticate], R"(Bearer realm="progress-bridge")");
  EXPECT_EQ(error_code(res), "token_missing");
}

TEST_F(RestApiTest, SessionTellsWhoATokenSpeaksFor) {
  const auto res = get("/api/v1/session", token("ops", true));
  ASSERT_EQ(res.result(), http::status::ok);
  const auto body = json::parse(res.body());
  EXPECT_EQ(body["userId"], "ops");
  EXPECT_EQ(body["admin"], true);
  const auto expired = mint_token(secret, "alice", false, std::chrono::seconds{60},
                                  std::chrono::system_clock::now() - std::chrono::hours{2});
  const auto refused = get("/api/v1/session", expired);
  EXPECT_EQ(refused.result(), http::status::unauthorized);
  EXPECT_EQ(error_code(refused), "token_expired");
}

TEST_F(RestApiTest, InvalidTokensAre401) {
  const auto bad = get("/api/v1/users/alice/jobs", "not.a.token");
  EXPECT_EQ(bad.result(), http::status::unauthorized);
  EXPECT_NE(bad[http::field::www_authenticate].find("invalid_token"), std::string_view::npos);
  const auto expired = mint_token(secret, "alice", false, std::chrono::seconds{60},
                                  std::chrono::system_clock::now() - std::chrono::hours{2});
  EXPECT_EQ(get("/api/v1/users/alice/jobs", expired).result(), http::status::unauthorized);
  http_request basic{http::verb::get, "/api/v1/users/alice/jobs", 11};
  basic.set(http::field::authorization, "Basic YWxpY2U6eA==");
  EXPECT_EQ(send(basic).result(), http::status::unauthorized);
  EXPECT_NE(metrics_.scrape().find("expired"), std::string::npos);
}

TEST_F(RestApiTest, TokenInQueryParameter) {
  publish("alice", "j1", R"({"status":"queued","seq":1})", 1000);
  EXPECT_EQ(get("/api/v1/users/alice/jobs/j1?access_token=" + token("alice")).result(), http::status::ok);
}

TEST_F(RestApiTest, BearerSchemeIsCaseInsensitive) {
  http_request req{http::verb::get, "/api/v1/users/alice/jobs", 11};
  req.set(http::field::authorization, "bearer " + token("alice"));
  EXPECT_EQ(send(req).result(), http::status::ok);
}

TEST_F(RestApiTest, OtherUsersDataIs403AdminSeesAll) {
  publish("bob", "b1", R"({"status":"queued","seq":1})", 1000);
  publish("alice", "a1", R"({"status":"queued","seq":1})", 1001);
  EXPECT_EQ(get("/api/v1/users/bob/jobs", token("alice")).result(), http::status::forbidden);
  EXPECT_EQ(get("/api/v1/users/bob/jobs/b1", token("alice")).result(), http::status::forbidden);
  EXPECT_EQ(get("/api/v1/users/bob/jobs/b1/events", token("alice")).result(), http::status::forbidden);
  EXPECT_EQ(get("/api/v1/users/bob/stats", token("alice")).result(), http::status::forbidden);
  EXPECT_EQ(get("/api/v1/jobs", token("alice")).result(), http::status::forbidden);
  EXPECT_EQ(get("/api/v1/users/bob/jobs/b1", token("ops", true)).result(), http::status::ok);
  auto all = json::parse(get("/api/v1/jobs", token("ops", true)).body());
  EXPECT_EQ(all["jobs"].size(), 2u);
  auto bobs = json::parse(get("/api/v1/jobs?userId=bob", token("ops", true)).body());
  ASSERT_EQ(bobs["jobs"].size(), 1u);
  EXPECT_EQ(bobs["jobs"][0]["userId"], "bob");
  EXPECT_EQ(get("/api/v1/jobs?userId=b%2Fb", token("ops", true)).result(), http::status::bad_request);
}

TEST_F(RestApiTest, InvalidPathIdsAre400) {
  const auto admin = token("ops", true);
  EXPECT_EQ(get("/api/v1/users/a%2Fb/jobs", admin).result(), http::status::bad_request);
  EXPECT_EQ(get("/api/v1/users/alice/jobs/a%20b", admin).result(), http::status::bad_request);
  EXPECT_EQ(get("/api/v1/users/" + std::string(200, 'x') + "/stats", admin).result(),
            http::status::bad_request);
}

TEST_F(RestApiTest, UnknownPathAndWrongMethod) {
  EXPECT_EQ(get("/api/v1/nope").result(), http::status::not_found);
  http_request post{http::verb::post, "/api/v1/users/alice/jobs", 11};
  const auto res = send(post);
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
  EXPECT_EQ(res[http::field::allow], "GET, OPTIONS");
}

TEST_F(RestApiTest, PlainOptionsListsAllowedMethods) {
  const auto res = send(http_request{http::verb::options, "/api/v1/users/alice/jobs", 11});
  EXPECT_EQ(res.result(), http::status::no_content);
  EXPECT_EQ(res[http::field::allow], "GET, OPTIONS");
  EXPECT_EQ(send(http_request{http::verb::options, "/nowhere", 11}).result(), http::status::not_found);
}

TEST_F(RestApiTest, HealthAndReadiness) {
  const auto health = json::parse(get_admin("/healthz").body());
  EXPECT_EQ(health["status"], "ok");
  EXPECT_TRUE(health["version"].is_string());
  EXPECT_EQ(get_admin("/readyz").result(), http::status::ok);
  ready_ = false;
  EXPECT_EQ(get_admin("/readyz").result(), http::status::service_unavailable);
}

TEST_F(RestApiTest, ProbesOnlyOnTheAdminListener) {
  for (const auto* probe : {"/healthz", "/readyz", "/metrics"}) {
    EXPECT_EQ(get(probe).result(), http::status::not_found) << probe;
    EXPECT_EQ(get_admin(probe).result(), http::status::ok) << probe;
  }
  EXPECT_EQ(get_admin("/api/v1/users/alice/jobs").result(), http::status::not_found) << "no API on admin";
  EXPECT_EQ(get_admin("/").result(), http::status::not_found);
}

TEST_F(RestApiTest, MetricsCountRequestsByRoute) {
  (void)get_admin("/healthz");
  (void)get("/api/v1/users/alice/jobs/x", token("alice"));
  const auto res = get_admin("/metrics");
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res[http::field::content_type], "text/plain; version=0.0.4");
  EXPECT_NE(res.body().find("/api/v1/users/{userId}/jobs/{jobId}"), std::string::npos);
  EXPECT_EQ(res.body().find("/api/v1/users/alice"), std::string::npos);  // never raw paths
}

TEST_F(RestApiTest, RateLimitPerClientAddress) {
  api({.cors_origins = {}, .rate_limit = 1, .rate_limit_burst = 2});
  const auto t = token("alice");
  EXPECT_EQ(get("/api/v1/users/alice/jobs", t, "10.0.0.1").result(), http::status::ok);
  EXPECT_EQ(get("/api/v1/users/alice/jobs", t, "10.0.0.1").result(), http::status::ok);
  const auto limited = get("/api/v1/users/alice/jobs", t, "10.0.0.1");
  EXPECT_EQ(limited.result(), http::status::too_many_requests);
  EXPECT_EQ(limited[http::field::retry_after], "1");
  EXPECT_EQ(error_code(limited), "rate_limited");
  EXPECT_EQ(get("/api/v1/users/alice/jobs", t, "10.0.0.2").result(), http::status::ok);
  EXPECT_EQ(get_admin("/healthz", "10.0.0.1").result(), http::status::ok);  // probes are not limited
}

TEST_F(RestApiTest, CorsHeadersAndPreflight) {
  api({.cors_origins = {"https://app.example"}, .rate_limit = 0});
  http_request req{http::verb::get, "/api/v1/users/alice/jobs", 11};
  req.set(http::field::authorization, "Bearer " + token("alice"));
  req.set(http::field::origin, "https://app.example");
  const auto res = send(req);
  EXPECT_EQ(res[http::field::access_control_allow_origin], "https://app.example");
  EXPECT_EQ(res[http::field::vary], "Origin");

  http_request preflight{http::verb::options, "/api/v1/users/alice/jobs", 11};
  preflight.set(http::field::origin, "https://app.example");
  preflight.set(http::field::access_control_request_method, "GET");
  const auto pre = send(preflight);
  EXPECT_EQ(pre.result(), http::status::no_content);
  EXPECT_EQ(pre[http::field::access_control_allow_methods], "GET, OPTIONS");

  preflight.target("/nowhere");
  EXPECT_EQ(send(preflight).result(), http::status::not_found);
}

}  // namespace
}  // namespace progress::bridge
