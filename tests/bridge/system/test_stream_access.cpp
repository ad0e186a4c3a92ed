// Live streams keep users apart and admit only valid tokens, like REST requests.
#include "live_stream_fixture.hpp"

namespace progress::bridge {
namespace {

TEST_F(LiveStreams, AliceNeverReceivesBobsJobsOnAnyStream) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto alice = user("alice");
  const auto bob = user("bob");
  publish(alice, "alices", {{"status", "in_progress"}, {"seq", 1}});
  publish(bob, "bobs", {{"status", "in_progress"}, {"seq", 1}});
  ASSERT_TRUE(rest_serves(port, alice, "alices"));
  ASSERT_TRUE(rest_serves(port, bob, "bobs"));

  auto alice_ws = open_websocket(port, token_for(alice));
  auto bob_ws = open_websocket(port, token_for(bob));
  auto alice_sse = open_sse(port, alice, token_for(alice));
  ASSERT_EQ(alice_sse->status(), 200u) << alice_sse->body();
  for (const auto& snapshot :
       {next_of_type(*alice_ws, "snapshot"), next_event_of_type(*alice_sse, "snapshot")}) {
    ASSERT_TRUE(snapshot);
    EXPECT_EQ(job_ids((*snapshot)["jobs"]), std::set<std::string>{"alices"});
  }
  auto bob_snapshot = next_of_type(*bob_ws, "snapshot");
  ASSERT_TRUE(bob_snapshot);
  EXPECT_EQ(job_ids((*bob_snapshot)["jobs"]), std::set<std::string>{"bobs"});

  // Bob's update reaches the bridge before alice's; alice's streams skip it.
  publish(bob, "bobs", {{"status", "in_progress"}, {"seq", 2}});
  publish(alice, "alices", {{"status", "in_progress"}, {"seq", 2}});
  auto bob_update = next_of_type(*bob_ws, "job");
  ASSERT_TRUE(bob_update);
  EXPECT_EQ((*bob_update)["job"]["jobId"], "bobs");
  for (auto update : {next_of_type(*alice_ws, "job"), next_event_of_type(*alice_sse, "job")}) {
    ASSERT_TRUE(update);
    EXPECT_EQ((*update)["job"]["userId"], alice);
    EXPECT_EQ((*update)["job"]["seq"], 2);
  }

  // Asking for bob's stream is refused; her own stream goes on.
  sse_test_client bobs_stream{port, "/api/v1/users/" + bob + "/stream", bearer(token_for(alice))};
  EXPECT_EQ(bobs_stream.status(), 403u) << bobs_stream.body();
  ASSERT_TRUE(alice_ws->send_text(json{{"op", "subscribe"}, {"userId", bob}}.dump()));
  auto refused = next_of_type(*alice_ws, "error");
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["code"], "forbidden");
  publish(bob, "bobs", {{"status", "completed"}, {"seq", 3}});
  publish(alice, "alices", {{"status", "in_progress"}, {"seq", 3}});
  auto after_refusal = next_of_type(*alice_ws, "job");
  ASSERT_TRUE(after_refusal);
  EXPECT_EQ((*after_refusal)["job"]["userId"], alice);
  EXPECT_EQ((*after_refusal)["job"]["seq"], 3);
  expect_nothing_more(*alice_ws);
}

TEST_F(LiveStreams, AdminFollowsEveryUserWithTheWildcard) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto alice = user("alice");
  const auto bob = user("bob");
  publish(alice, "alices", {{"status", "in_progress"}, {"seq", 1}});
  publish(bob, "bobs", {{"status", "in_progress"}, {"seq", 1}});
  ASSERT_TRUE(rest_serves(port, alice, "alices"));
  ASSERT_TRUE(rest_serves(port, bob, "bobs"));
  const auto admin = token_for("ops", true);

  auto ws = open_websocket(port, admin);
  ASSERT_TRUE(next_of_type(*ws, "snapshot"));  // the admin's own jobs: none
  ASSERT_TRUE(ws->send_text(R"({"op":"subscribe","userId":"*"})"));
  auto everyone = next_of_type(*ws, "snapshot");
  ASSERT_TRUE(everyone);
  EXPECT_TRUE(find_job((*everyone)["jobs"], alice, "alices")) << shortened(*everyone);
  EXPECT_TRUE(find_job((*everyone)["jobs"], bob, "bobs")) << shortened(*everyone);

  auto sse = open_sse(port, "*", admin);
  ASSERT_EQ(sse->status(), 200u) << sse->body();
  auto sse_snapshot = next_event_of_type(*sse, "snapshot");
  ASSERT_TRUE(sse_snapshot);
  EXPECT_TRUE(find_job((*sse_snapshot)["jobs"], alice, "alices"));
  EXPECT_TRUE(find_job((*sse_snapshot)["jobs"], bob, "bobs"));

  publish(bob, "bobs", {{"status", "completed"}, {"seq", 2}});
  publish(alice, "alices", {{"status", "failed"}, {"seq", 2}, {"error", {{"message", "disk full"}}}});
  for (const std::string& expected_user : {bob, alice}) {
    auto ws_update = next_of_type(*ws, "job");
    ASSERT_TRUE(ws_update);
    EXPECT_EQ((*ws_update)["job"]["userId"], expected_user);
    auto sse_update = next_event_of_type(*sse, "job");
    ASSERT_TRUE(sse_update);
    EXPECT_EQ((*sse_update)["job"]["userId"], expected_user);
  }

  // Following one other user.
  ASSERT_TRUE(ws->send_text(json{{"op", "subscribe"}, {"userId", bob}}.dump()));
  auto only_bob = next_of_type(*ws, "snapshot");
  ASSERT_TRUE(only_bob);
  EXPECT_EQ(job_ids((*only_bob)["jobs"]), std::set<std::string>{"bobs"});
}

TEST_F(LiveStreams, UpgradeWithoutAValidTokenIsAnswered401) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto alice = user("alice");
  const std::map<std::string, std::string> refused_tokens = {
      {"garbage", "garbage"},
      {"expired", test::expired_token_for(alice)},
      {"forged", test::forged_token_for(alice)},
      {"alg none", test::unsigned_token_for(alice)},
  };
  const auto expect_401 = [](websocket_test_client& ws, const std::string& what) {
    EXPECT_FALSE(ws.upgraded()) << what;
    EXPECT_EQ(ws.upgrade_status(), 401u) << what;
    EXPECT_EQ(ws.upgrade_response()[http::field::www_authenticate].substr(0, 6), "Bearer") << what;
  };
  websocket_test_client without_token{port, "/api/v1/ws"};
  expect_401(without_token, "no token");
  for (const auto& [what, token] : refused_tokens) {
    websocket_test_client in_query{port, websocket_target(token)};
    expect_401(in_query, what + " in the query");
    websocket_test_client in_header{port, "/api/v1/ws", token_in_header(token)};
    expect_401(in_header, what + " in the header");
    sse_test_client sse{port, "/api/v1/users/" + alice + "/stream", bearer(token)};
    EXPECT_EQ(sse.status(), 401u) << what << " over SSE";
  }
  sse_test_client sse_without_token{port, "/api/v1/users/" + alice + "/stream"};
  EXPECT_EQ(sse_without_token.status(), 401u);

  // The same requests with a good token are upgraded.
  websocket_test_client good{port, websocket_target(token_for(alice))};
  EXPECT_TRUE(good.upgraded()) << good.upgrade_status();
  EXPECT_GE(metric_total(bridge->scrape(), "progress_bridge_auth_failures_total"), 9.0);
}

TEST_F(LiveStreams, StreamOpensAreAdmittedLikeRequests) {
  auto bridge = start_bridge({"--rate-limit", "0.2", "--rate-limit-burst", "6"});
  const auto port = bridge->port();
  const auto alice = user("alice");
  // A plain GET of the WebSocket route, with a good token.
  const auto plain = http_get(port, "/api/v1/ws", token_for(alice));
  EXPECT_EQ(plain.status, 426u) << plain.body;
  EXPECT_EQ(plain.raw[http::field::upgrade], "websocket");
  sse_test_client bad_id{port, "/api/v1/users/al%20ice/stream", bearer(token_for(alice))};
  EXPECT_EQ(bad_id.status(), 400u) << bad_id.body();
  sse_test_client everyone{port, "/api/v1/users/*/stream", bearer(token_for(alice))};
  EXPECT_EQ(everyone.status(), 403u) << everyone.body();
  EXPECT_EQ(nlohmann::json::parse(everyone.body(), nullptr, false)["error"]["code"], "forbidden");
  // Three requests so far; the burst of six leaves three stream opens.
  for (int i = 0; i < 3; ++i) {
    websocket_test_client admitted{port, websocket_target(token_for(alice))};
    EXPECT_TRUE(admitted.upgraded()) << i << ": " << admitted.upgrade_status();
  }
  websocket_test_client limited{port, websocket_target(token_for(alice))};
  EXPECT_FALSE(limited.upgraded());
  EXPECT_EQ(limited.upgrade_status(), 429u);
  EXPECT_FALSE(limited.upgrade_response()[http::field::retry_after].empty());
}

}  // namespace
}  // namespace progress::bridge
