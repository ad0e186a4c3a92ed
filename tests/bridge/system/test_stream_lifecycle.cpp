// How live streams end: token expiry, bad client frames, silence, shutdown; and their metrics.
#include <signal.h>

#include "live_stream_fixture.hpp"
#include "temp_dir.hpp"

namespace progress::bridge {
namespace {

TEST_F(LiveStreams, StreamsEndWhenTheirTokenExpires) {
  // A stream ends at the token's exp plus the clock-skew leeway a new request would still get.
  auto bridge = start_bridge({"--jwt-leeway", "1s"});
  const auto port = bridge->port();
  const auto alice = user("alice");
  const auto short_lived = [&] { return mint_token(bridge_process::jwt_secret, alice, false, 2s); };
  auto ws = open_websocket(port, short_lived());
  ASSERT_TRUE(ws->upgraded()) << ws->upgrade_status();
  auto sse = open_sse(port, alice, short_lived());
  ASSERT_EQ(sse->status(), 200u) << sse->body();
  const auto opened = std::chrono::steady_clock::now();
  ASSERT_TRUE(next_of_type(*ws, "snapshot"));
  ASSERT_TRUE(next_event_of_type(*sse, "snapshot"));

  ASSERT_TRUE(ws->wait_for_end(10s));
  EXPECT_EQ(ws->close_code(), close_token_expired) << ws->end_reason();
  auto expired = next_event_of_type(*sse, "error", 10s);
  ASSERT_TRUE(expired);
  EXPECT_EQ((*expired)["code"], "token_expired");
  EXPECT_TRUE(sse->wait_for_end(5s)) << sse->body();
  EXPECT_GE(std::chrono::steady_clock::now() - opened, 500ms) << "closed long before the token expired";
  EXPECT_TRUE(wait_until([&] { return stream_closes(*bridge, "token_expired") == 2; }, 5s))
      << bridge->scrape();
}

TEST_F(LiveStreams, MalformedOpsGetErrorsAndTheStreamStaysOpen) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto alice = user("alice");
  const auto bob = user("bob");
  auto bystander = open_websocket(port, token_for(bob));
  ASSERT_TRUE(next_of_type(*bystander, "snapshot"));
  auto ws = open_websocket(port, token_for(alice));
  ASSERT_TRUE(next_of_type(*ws, "snapshot"));

  const std::vector<std::pair<std::string, std::string>> bad_ops = {
      {"not json", "bad_request"},
      {"[1,2,3]", "bad_request"},
      {R"("subscribe")", "bad_request"},
      {R"({"op":42})", "bad_request"},
      {R"({"op":"subscribe","jobIds":"not-an-array"})", "bad_request"},
      {R"({"op":"subscribe","types":[1,2]})", "bad_request"},
      {R"({"op":"dance"})", "unknown_op"},
      {R"({"noop":true})", "bad_request"},
      {R"({"op":"subscribe","jobIds":["a/b"]})", "bad_request"},
      {R"({"op":"subscribe","userId":"not an id"})", "bad_request"},
      {R"({"op":"subscribe","userId":7})", "bad_request"},
      {json{{"op", "subscribe"}, {"jobIds", std::vector<std::string>(101, "job")}}.dump(), "bad_request"},
      {json{{"op", "subscribe"}, {"types", std::vector<std::string>(21, "type")}}.dump(), "bad_request"},
  };
  int seq = 0;
  for (const auto& [frame, code] : bad_ops) {
    ASSERT_TRUE(ws->send_text(frame)) << frame;
    auto error = next_of_type(*ws, "error");
    ASSERT_TRUE(error) << frame;
    EXPECT_EQ((*error)["code"], code) << frame;
    EXPECT_TRUE((*error)["message"].is_string()) << frame;
    expect_bystander_served(*bridge, *bystander, bob, ++seq);
  }
  ASSERT_TRUE(ws->send_binary(R"({"op":"ping","id":"binary"})"));
  auto binary_error = next_of_type(*ws, "error");
  ASSERT_TRUE(binary_error);
  EXPECT_EQ((*binary_error)["code"], "bad_request");
  expect_bystander_served(*bridge, *bystander, bob, ++seq);

  // Still open and still serving alice, in her own scope.
  publish(alice, "still-here", {{"status", "queued"}, {"seq", 1}});
  auto update = next_of_type(*ws, "job");
  ASSERT_TRUE(update);
  EXPECT_EQ((*update)["job"]["jobId"], "still-here");
  expect_nothing_more(*ws);
  const auto scrape = bridge->scrape();
  const auto bad_requests = std::count_if(bad_ops.begin(), bad_ops.end(),
                                          [](const auto& op) { return op.second == "bad_request"; });
  EXPECT_EQ(metric_with_label(scrape, "progress_bridge_stream_ops_refused_total", R"(code="bad_request")"),
            static_cast<double>(bad_requests + 1))
      << scrape;
  EXPECT_EQ(metric_with_label(scrape, "progress_bridge_stream_ops_refused_total", R"(code="unknown_op")"),
            1.0);
}

TEST_F(LiveStreams, OpFloodIsRateLimitedThenClosed4029) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto bob = user("bob");
  auto bystander = open_websocket(port, token_for(bob));
  ASSERT_TRUE(next_of_type(*bystander, "snapshot"));
  auto flooder = open_websocket(port, token_for(user("alice")));
  ASSERT_TRUE(next_of_type(*flooder, "snapshot"));

  // Burst 40, 20/s, closed after 100 refused ops: 400 at once are far beyond that.
  int sent = 0;
  for (int i = 0; i < 400 && flooder->send_text(json{{"op", "ping"}, {"id", i}}.dump()); ++i) ++sent;
  ASSERT_TRUE(flooder->wait_for_end(10s));
  EXPECT_EQ(flooder->close_code(), close_op_flood) << flooder->end_reason() << " after " << sent << " ops";
  std::size_t pongs = 0;
  std::size_t rate_limited = 0;
  while (auto message = flooder->next_message(0ms)) {
    if ((*message)["type"] == "pong") ++pongs;
    if ((*message)["type"] == "error" && (*message)["code"] == "rate_limited") ++rate_limited;
  }
  EXPECT_GE(pongs, 30u) << "the burst is answered";
  EXPECT_LT(pongs, 100u) << "the flood is not";
  EXPECT_GE(rate_limited, 1u);
  expect_bystander_served(*bridge, *bystander, bob, 1);
  EXPECT_GE(stream_closes(*bridge, "op_flood"), 1.0) << bridge->scrape();
}

TEST_F(LiveStreams, OversizeClientFrameIsClosed1009) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto bob = user("bob");
  auto bystander = open_websocket(port, token_for(bob));
  ASSERT_TRUE(next_of_type(*bystander, "snapshot"));
  auto ws = open_websocket(port, token_for(user("alice")));
  ASSERT_TRUE(next_of_type(*ws, "snapshot"));

  // Just at the limit is still an op.
  const std::string prefix = R"({"op":"ping","id":")";
  const std::string at_limit = prefix + std::string(4096 - prefix.size() - 2, 'a') + "\"}";
  ASSERT_EQ(at_limit.size(), 4096u);
  ASSERT_TRUE(ws->send_text(at_limit));
  ASSERT_TRUE(next_of_type(*ws, "pong"));

  ws->send_text(prefix + std::string(5000, 'a') + "\"}");
  ASSERT_TRUE(ws->wait_for_end(10s));
  EXPECT_EQ(ws->close_code(), close_too_big) << ws->end_reason();
  expect_bystander_served(*bridge, *bystander, bob, 1);
}

TEST_F(LiveStreams, IdleWebSocketIsPinged) {
  // Two seconds, not one: on a loaded host a pong can take over a second to come back
  // and be read, and a client that answers is dropped only a second after the ping.
  auto bridge = start_bridge({"--stream-heartbeat", "2s"});
  auto ws = open_websocket(bridge->port(), token_for(user("alice")));
  ASSERT_TRUE(next_of_type(*ws, "snapshot"));
  // Reading answers the pings, so the bridge keeps the connection.
  EXPECT_TRUE(wait_until(
      [&] {
        (void)ws->next_message(100ms);
        return ws->pings_received() >= 2;
      },
      15s));
  EXPECT_FALSE(ws->ended()) << ws->end_reason();
}

TEST_F(LiveStreams, SilentWebSocketIsDroppedAfterTwiceTheHeartbeat) {
  auto bridge = start_bridge({"--stream-heartbeat", "1s"});
  const auto port = bridge->port();
  auto silent = open_websocket(port, token_for(user("alice")));
  ASSERT_TRUE(next_of_type(*silent, "snapshot"));
  const auto heard_last = std::chrono::steady_clock::now();
  // It neither reads nor answers pings from here on.
  const auto open_streams = [&] { return metric_total(bridge->scrape(), "progress_bridge_streams_open"); };
  EXPECT_EQ(open_streams(), 1.0);
  EXPECT_TRUE(wait_until([&] { return open_streams() == 0.0; }, 8s)) << bridge->scrape();
  // Twice the heartbeat after its last frame (the upgrade request, just before the snapshot).
  EXPECT_GE(std::chrono::steady_clock::now() - heard_last, 1500ms) << "dropped before twice the heartbeat";
  EXPECT_TRUE(silent->wait_for_end(5s));
}

TEST_F(LiveStreams, ShutdownClosesStreams1001) {
  auto bridge = start_bridge();
  const auto alice = user("alice");
  auto ws = open_websocket(bridge->port(), token_for(alice));
  ASSERT_TRUE(next_of_type(*ws, "snapshot"));
  auto sse = open_sse(bridge->port(), alice, token_for(alice));
  ASSERT_TRUE(next_event_of_type(*sse, "snapshot"));

  auto exit_code = std::async(std::launch::async, [&] { return bridge->terminate(); });
  ASSERT_TRUE(ws->wait_for_end(10s));
  EXPECT_EQ(ws->close_code(), close_going_away) << ws->end_reason();
  EXPECT_TRUE(sse->wait_for_end(10s));
  EXPECT_EQ(exit_code.get(), 0) << bridge->log();
}

TEST_F(LiveStreams, DrainReportsNotReadyKeepsServingThenCloses1001) {
  auto bridge = start_bridge({"--drain-period", "3s"});
  const auto port = bridge->port();
  const auto alice = user("alice");
  auto ws = open_websocket(port, token_for(alice));
  ASSERT_TRUE(next_of_type(*ws, "snapshot"));
  auto sse = open_sse(port, alice, token_for(alice));
  ASSERT_TRUE(next_event_of_type(*sse, "snapshot"));

  const auto signalled = std::chrono::steady_clock::now();
  auto exit_code = std::async(std::launch::async, [&] { return bridge->terminate(); });
  // The load balancer's probe sees it first ...
  ASSERT_TRUE(wait_until([&] { return bridge->admin_get("/readyz").status == 503; }, 2s)) << bridge->log();
  // ... while everything else is still served: open streams, new streams, REST.
  publish(alice, "during-drain", {{"status", "in_progress"}, {"seq", 1}});
  auto update = next_of_type(*ws, "job");
  ASSERT_TRUE(update);
  EXPECT_EQ((*update)["job"]["jobId"], "during-drain");
  EXPECT_TRUE(next_event_of_type(*sse, "job"));
  auto late = open_websocket(port, token_for(alice));
  EXPECT_TRUE(next_of_type(*late, "snapshot"));
  EXPECT_EQ(rest_job(port, alice, "during-drain").value("seq", 0), 1);
  EXPECT_FALSE(ws->ended());

  // Then it closes the streams as on any shutdown, and exits cleanly.
  ASSERT_TRUE(ws->wait_for_end(10s));
  EXPECT_EQ(ws->close_code(), close_going_away) << ws->end_reason();
  EXPECT_GE(std::chrono::steady_clock::now() - signalled, 2500ms) << "closed before the drain period ended";
  ASSERT_TRUE(late->wait_for_end(5s));
  EXPECT_EQ(late->close_code(), close_going_away) << late->end_reason();
  EXPECT_TRUE(sse->wait_for_end(5s));
  EXPECT_EQ(exit_code.get(), 0) << bridge->log();
  EXPECT_NE(bridge->log().find("draining: /readyz answers 503"), std::string::npos) << bridge->log();
}

TEST_F(LiveStreams, ASecondSigtermEndsTheDrain) {
  auto bridge = start_bridge({"--drain-period", "60s"});
  auto ws = open_websocket(bridge->port(), token_for(user("alice")));
  ASSERT_TRUE(next_of_type(*ws, "snapshot"));
  ASSERT_EQ(::kill(bridge->pid(), SIGTERM), 0);
  ASSERT_TRUE(wait_until([&] { return bridge->admin_get("/readyz").status == 503; }, 2s)) << bridge->log();
  const auto second = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(bridge->pid(), SIGTERM), 0);
  ASSERT_TRUE(ws->wait_for_end(10s));
  EXPECT_EQ(ws->close_code(), close_going_away) << ws->end_reason();
  EXPECT_LT(std::chrono::steady_clock::now() - second, 5s) << "the drain period was cut short";
  EXPECT_EQ(bridge->wait_exit(10s), 0) << bridge->log();
}

TEST_F(LiveStreams, WithoutDrainPeriodShutdownIsImmediate) {
  auto bridge = start_bridge({"--drain-period", "0"});
  auto ws = open_websocket(bridge->port(), token_for(user("alice")));
  ASSERT_TRUE(next_of_type(*ws, "snapshot"));
  const auto signalled = std::chrono::steady_clock::now();
  auto exit_code = std::async(std::launch::async, [&] { return bridge->terminate(); });
  ASSERT_TRUE(ws->wait_for_end(10s));
  EXPECT_EQ(ws->close_code(), close_going_away) << ws->end_reason();
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, 2s);
  EXPECT_EQ(exit_code.get(), 0) << bridge->log();
  EXPECT_EQ(bridge->log().find("draining"), std::string::npos) << bridge->log();
}

TEST_F(LiveStreams, ASigtermDuringTheStartStopsTheBridgeCleanly) {
  // Signalled as soon as it logs its first line, before it listens for signals: the stop
  // waits for the start instead of killing the bridge half-way (an unclean exit, -1 here).
  const test::temp_dir directory{"progress-bridge-early-stop"};
  test::child_process bridge{
      {PROGRESS_BRIDGE_BINARY, "--mqtt-url", "tcp://127.0.0.1:1", "--jwt-secret",
       std::string(bridge_process::jwt_secret), "--http-listen", "127.0.0.1:0", "--admin-listen",
       "127.0.0.1:0", "--drain-period", "0", "--data-dir", (directory / "data").string()},
      directory / "bridge.log"};
  ASSERT_TRUE(wait_until([&] { return !bridge.log().empty() || !bridge.running(); }, 10s));
  EXPECT_EQ(bridge.stop(SIGTERM, 15s), 0) << bridge.log();
  EXPECT_NE(bridge.log().find("stopped"), std::string::npos) << bridge.log();
}

TEST_F(LiveStreams, MetricsCountStreamConnectionsAndCloses) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto alice = user("alice");
  const auto connections = [&] { return metric_total(bridge->scrape(), "progress_bridge_streams_open"); };
  EXPECT_EQ(connections(), 0.0);
  {
    auto ws_a = open_websocket(port, token_for(alice));
    auto ws_b = open_websocket(port, token_for(alice));
    auto sse = open_sse(port, alice, token_for(alice));
    ASSERT_TRUE(next_of_type(*ws_a, "snapshot"));
    ASSERT_TRUE(next_of_type(*ws_b, "snapshot"));
    ASSERT_TRUE(next_event_of_type(*sse, "snapshot"));
    const auto open = bridge->scrape();
    EXPECT_EQ(metric_with_label(open, "progress_bridge_streams_open", R"(transport="websocket")"), 2.0)
        << open;
    EXPECT_EQ(metric_with_label(open, "progress_bridge_streams_open", R"(transport="sse")"), 1.0) << open;
    EXPECT_GE(metric_total(open, "progress_bridge_stream_messages_sent_total"), 3.0) << "three snapshots";
    EXPECT_TRUE(ws_b->close());  // a close handshake; the others just drop the connection
  }
  EXPECT_TRUE(wait_until([&] { return connections() == 0.0; }, 10s)) << bridge->scrape();
  const auto scrape = bridge->scrape();
  const auto closed = [&](const std::string& transport) {
    return metric_with_label(scrape, "progress_bridge_streams_closed_total",
                             R"(reason="client",transport=")" + transport + "\"");
  };
  EXPECT_EQ(closed("websocket"), 2.0) << scrape;
  EXPECT_EQ(closed("sse"), 1.0) << scrape;
  EXPECT_EQ(metric_total(scrape, "progress_bridge_streams_closed_total"), 3.0) << scrape;
  EXPECT_GE(
      metric_with_label(scrape, "progress_bridge_http_requests_total", R"(code="101",route="/api/v1/ws")"),
      2.0)
      << scrape;
}

}  // namespace
}  // namespace progress::bridge
