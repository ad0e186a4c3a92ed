// Live streams deliver a snapshot, then every change, over WebSocket and SSE.
#include "live_stream_fixture.hpp"

namespace progress::bridge {
namespace {

TEST_F(LiveStreams, WebSocketStartsWithSnapshotThenFollowsEveryChangeToTheEnd) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto alice = user("alice");
  const auto bob = user("bob");
  publish(alice, "render", {{"status", "in_progress"}, {"progress", 30}, {"seq", 3}, {"type", "video"}});
  publish(alice, "archive", {{"status", "completed"}, {"progress", 100}, {"seq", 9}});
  publish(bob, "bobs-job", {{"status", "queued"}, {"seq", 1}});
  ASSERT_TRUE(rest_serves(port, alice, "render"));
  ASSERT_TRUE(rest_serves(port, alice, "archive"));
  ASSERT_TRUE(rest_serves(port, bob, "bobs-job"));

  websocket_test_client ws{port, "/api/v1/ws", token_in_header(token_for(alice))};
  ASSERT_TRUE(ws.upgraded()) << ws.upgrade_status() << " " << ws.upgrade_response().body();
  auto snapshot = next_of_type(ws, "snapshot");
  ASSERT_TRUE(snapshot);
  EXPECT_EQ((*snapshot)["recovered"], false);
  ASSERT_TRUE((*snapshot)["cursor"].is_string());
  EXPECT_FALSE((*snapshot)["cursor"].get<std::string>().empty());
  // The latest state of every current job of hers, exactly as REST serves it.
  EXPECT_EQ(job_ids((*snapshot)["jobs"]), (std::set<std::string>{"render", "archive"}));
  for (const auto& job : (*snapshot)["jobs"])
    EXPECT_EQ(job, rest_job(port, alice, job.value("jobId", ""))) << job.dump();
  // Newest first, like the REST listing.
  const auto listing = http_get(port, "/api/v1/users/" + alice + "/jobs", token_for(alice)).body_json();
  EXPECT_EQ((*snapshot)["jobs"], listing["jobs"]);

  // Each update is published once the previous one arrived, so none is conflated away.
  std::string previous_cursor = (*snapshot)["cursor"];
  for (int seq = 4; seq <= 9; ++seq) {
    const bool last = seq == 9;
    publish(alice, "render",
            {{"status", last ? "completed" : "in_progress"},
             {"progress", last ? 100 : seq * 10},
             {"seq", seq},
             {"type", "video"}});
    auto update = next_of_type(ws, "job");
    ASSERT_TRUE(update) << "seq " << seq;
    EXPECT_EQ((*update)["job"]["jobId"], "render");
    EXPECT_EQ((*update)["job"]["userId"], alice);
    EXPECT_EQ((*update)["job"]["seq"], seq);
    ASSERT_TRUE((*update)["cursor"].is_string());
    EXPECT_NE((*update)["cursor"], previous_cursor);
    previous_cursor = (*update)["cursor"];
    if (last) {
      EXPECT_EQ((*update)["job"]["status"], "completed");
      EXPECT_EQ((*update)["job"], rest_job(port, alice, "render"));
    }
  }

  remove_job(alice, "render");
  auto removed = next_of_type(ws, "job_removed");
  ASSERT_TRUE(removed);
  EXPECT_EQ((*removed)["userId"], alice);
  EXPECT_EQ((*removed)["jobId"], "render");
  ASSERT_TRUE((*removed)["cursor"].is_string());
  EXPECT_NE((*removed)["cursor"], previous_cursor);
  EXPECT_TRUE(rest_forgot(port, alice, "render"));
  // Nothing else was sent: not bob's job, no duplicates.
  expect_nothing_more(ws);
}

TEST_F(LiveStreams, StreamsOpenedDuringABurstJoinSnapshotAndLiveChangesConsistently) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto alice = user("alice");
  constexpr int last_seq = 400;
  // A second worker connection publishes as fast as the broker acknowledges, without waiting for anyone.
  mqtt_test_client fast_worker{broker_->url(), "fast-worker-" + test_name()};
  ASSERT_EQ(fast_worker.connect("worker", mosquitto_broker::password("worker")), 0);
  publish(alice, "burst", {{"status", "started"}, {"seq", 0}});
  ASSERT_TRUE(rest_serves(port, alice, "burst"));
  auto burst = std::async(std::launch::async, [&] {
    for (int seq = 1; seq <= last_seq; ++seq) {
      const json state = {{"status", seq == last_seq ? "completed" : "in_progress"}, {"seq", seq}};
      if (fast_worker.publish("users/" + alice + "/jobs/burst", state.dump()) != 0) return false;
    }
    return true;
  });

  // Clients join while it runs; each sees one consistent story: a snapshot, then only newer states.
  std::vector<std::unique_ptr<websocket_test_client>> clients;
  std::vector<int> seen;
  while (clients.size() < 6 && rest_job(port, alice, "burst").value("seq", 0) < last_seq) {
    clients.push_back(open_websocket(port, token_for(alice)));
    auto snapshot = next_of_type(*clients.back(), "snapshot");
    ASSERT_TRUE(snapshot);
    const auto* job = find_job((*snapshot)["jobs"], alice, "burst");
    ASSERT_TRUE(job);
    seen.push_back(job->value("seq", -1));
  }
  ASSERT_TRUE(burst.get());
  ASSERT_GE(clients.size(), 2u) << "the burst ended before two clients joined";
  for (std::size_t i = 0; i < clients.size(); ++i) {
    auto rest = messages_until(*clients[i], [](const json& m) {
      return m.value("job", json::object()).value("status", "") == "completed";
    });
    ASSERT_TRUE(rest) << "client " << i << " joined at seq " << seen[i];
    for (auto& message : *rest) {
      ASSERT_EQ(message["type"], "job") << shortened(message);
      const int seq = message["job"].value("seq", -1);
      EXPECT_GT(seq, seen[i]) << "client " << i << ": a state older than or equal to one it already had";
      seen[i] = seq;
    }
    EXPECT_EQ(seen[i], last_seq);
  }
}

TEST_F(LiveStreams, SubscribeNarrowsTheStreamAndUnsubscribeRestoresIt) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto alice = user("alice");
  publish(alice, "render-1", {{"status", "in_progress"}, {"seq", 1}, {"type", "render"}});
  publish(alice, "import-1", {{"status", "in_progress"}, {"seq", 1}, {"type", "import"}});
  ASSERT_TRUE(rest_serves(port, alice, "render-1"));
  ASSERT_TRUE(rest_serves(port, alice, "import-1"));
  auto ws = open_websocket(port, token_for(alice));
  ASSERT_TRUE(next_of_type(*ws, "snapshot"));

  ASSERT_TRUE(ws->send_text(R"({"op":"subscribe","jobIds":["render-1"]})"));
  auto narrowed = next_of_type(*ws, "snapshot");
  ASSERT_TRUE(narrowed);
  EXPECT_EQ(job_ids((*narrowed)["jobs"]), std::set<std::string>{"render-1"});
  publish(alice, "import-1", {{"status", "in_progress"}, {"seq", 2}, {"type", "import"}});
  publish(alice, "render-1", {{"status", "in_progress"}, {"seq", 2}, {"type", "render"}});
  auto only_render = next_of_type(*ws, "job");
  ASSERT_TRUE(only_render);
  EXPECT_EQ((*only_render)["job"]["jobId"], "render-1");

  ASSERT_TRUE(ws->send_text(R"({"op":"subscribe","types":["import"]})"));
  auto by_type = next_of_type(*ws, "snapshot");
  ASSERT_TRUE(by_type);
  EXPECT_EQ(job_ids((*by_type)["jobs"]), std::set<std::string>{"import-1"});
  const auto* import_job = find_job((*by_type)["jobs"], alice, "import-1");
  ASSERT_TRUE(import_job);
  EXPECT_EQ(import_job->value("seq", 0), 2) << "the snapshot holds the latest state";

  ASSERT_TRUE(ws->send_text(R"({"op":"unsubscribe"})"));
  auto everything = next_of_type(*ws, "snapshot");
  ASSERT_TRUE(everything);
  EXPECT_EQ(job_ids((*everything)["jobs"]), (std::set<std::string>{"render-1", "import-1"}));

  ASSERT_TRUE(ws->send_text(R"({"op":"ping","id":7})"));
  auto pong = next_of_type(*ws, "pong");
  ASSERT_TRUE(pong);
  EXPECT_EQ((*pong)["id"], 7);
}

TEST_F(LiveStreams, SseStreamsEventsWithCursorIdsAndHeartbeats) {
  auto bridge = start_bridge({"--stream-heartbeat", "1s"});
  const auto port = bridge->port();
  const auto alice = user("alice");
  progress::publisher_options options;
  options.url = broker_->url();
  options.username = "worker";
  options.password = mosquitto_broker::password("worker");
  options.worker_id = "sse-worker";
  options.throttle_interval = 0ms;
  progress::publisher publisher{options};
  auto job = publisher.job(alice, "sse-job", progress::job_options{.type = "render"});
  job.start("warming up").wait();
  ASSERT_TRUE(rest_serves(port, alice, "sse-job"));

  // The token in the query string, as EventSource must send it.
  sse_test_client sse{port,
                      "/api/v1/users/" + alice + "/stream?access_token=" + percent_encoded(token_for(alice))};
  ASSERT_EQ(sse.status(), 200u) << sse.body();
  EXPECT_TRUE(sse.header(http::field::content_type).starts_with("text/event-stream"))
      << sse.header(http::field::content_type);
  auto snapshot = next_event_of_type(sse, "snapshot");
  ASSERT_TRUE(snapshot);
  EXPECT_EQ((*snapshot)["recovered"], false);
  ASSERT_EQ((*snapshot)["jobs"].size(), 1u);
  EXPECT_EQ((*snapshot)["jobs"][0], rest_job(port, alice, "sse-job"));

  job.phase(1, 2, "Render").wait();
  auto phase = next_event_of_type(sse, "job");
  ASSERT_TRUE(phase);
  EXPECT_EQ((*phase)["job"]["phaseTitle"], "Render");
  job.complete().wait();
  auto done = next_event_of_type(sse, "job");
  ASSERT_TRUE(done);
  EXPECT_EQ((*done)["job"]["status"], "completed");
  EXPECT_EQ((*done)["job"], rest_job(port, alice, "sse-job"));
  job.remove().wait();
  auto removed = next_event_of_type(sse, "job_removed");
  ASSERT_TRUE(removed);
  EXPECT_EQ((*removed)["jobId"], "sse-job");
  EXPECT_EQ((*removed)["userId"], alice);

  ASSERT_TRUE(sse.wait_for_comment(5s)) << sse.body();
  EXPECT_NE(sse.comments().back().find("heartbeat"), std::string::npos) << sse.comments().back();
  EXPECT_FALSE(sse.ended());
}

}  // namespace
}  // namespace progress::bridge
