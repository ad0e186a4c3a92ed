// Live streams resume by cursor without loss, or start again from a snapshot.
#include "live_stream_fixture.hpp"

namespace progress::bridge {
namespace {

TEST_F(LiveStreams, WebSocketResumesWithItsCursorAndReplaysEveryMissedChange) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto alice = user("alice");
  publish(alice, "long-run", {{"status", "started"}, {"seq", 1}});
  publish(alice, "doomed", {{"status", "queued"}, {"seq", 1}});
  ASSERT_TRUE(rest_serves(port, alice, "long-run"));
  ASSERT_TRUE(rest_serves(port, alice, "doomed"));

  std::string last_cursor;
  {
    auto ws = open_websocket(port, token_for(alice));
    ASSERT_TRUE(next_of_type(*ws, "snapshot"));
    for (int seq = 2; seq <= 3; ++seq) {
      publish(alice, "long-run", {{"status", "in_progress"}, {"progress", seq * 10}, {"seq", seq}});
      auto update = next_of_type(*ws, "job");
      ASSERT_TRUE(update);
      ASSERT_EQ((*update)["job"]["seq"], seq);
      last_cursor = (*update)["cursor"];
    }
  }  // the connection drops

  // While the client is away the job moves on and completes; another job goes away.
  publish(alice, "long-run", {{"status", "in_progress"}, {"progress", 40}, {"seq", 4}});
  publish(alice, "long-run", {{"status", "in_progress"}, {"progress", 50}, {"seq", 5}});
  publish(user("bob"), "not-hers", {{"status", "queued"}, {"seq", 1}});
  publish(alice, "long-run", {{"status", "completed"}, {"progress", 100}, {"seq", 6}});
  remove_job(alice, "doomed");
  ASSERT_TRUE(rest_serves(port, alice, "long-run", has_seq(6)));
  ASSERT_TRUE(rest_forgot(port, alice, "doomed"));

  auto resumed = open_websocket(port, token_for(alice), last_cursor);
  ASSERT_TRUE(resumed->upgraded()) << resumed->upgrade_status();
  auto resume = next_of_type(*resumed, "resume");
  ASSERT_TRUE(resume);
  EXPECT_EQ((*resume)["recovered"], true);
  EXPECT_TRUE((*resume)["cursor"].is_string());
  // Every intermediate change, oldest first, then nothing more.
  auto replayed =
      messages_until(*resumed, [](const json& m) { return m.value("type", "") == "job_removed"; });
  ASSERT_TRUE(replayed);
  expect_nothing_more(*resumed);
  std::vector<int> replayed_seqs;
  for (auto& message : *replayed) {
    if (message["type"] != "job") continue;
    EXPECT_EQ(message["job"]["jobId"], "long-run");
    EXPECT_TRUE(message["cursor"].is_string());
    replayed_seqs.push_back(message["job"].value("seq", -1));
  }
  EXPECT_EQ(replayed_seqs, (std::vector<int>{4, 5, 6})) << "the missed changes, each of them, in order";
  ASSERT_GE(replayed->size(), 2u);
  auto& completed = (*replayed)[replayed->size() - 2];
  EXPECT_EQ(completed["job"]["status"], "completed");
  EXPECT_EQ(completed["job"], rest_job(port, alice, "long-run"));
  auto& removed = replayed->back();
  EXPECT_EQ(removed["jobId"], "doomed");
  EXPECT_EQ(removed["userId"], alice);
  ASSERT_TRUE(removed["cursor"].is_string());

  // Back at once with the newest cursor: nothing was missed, nothing is replayed.
  {
    auto again = open_websocket(port, token_for(alice), removed["cursor"]);
    auto nothing_missed = next_of_type(*again, "resume");
    ASSERT_TRUE(nothing_missed);
    EXPECT_EQ((*nothing_missed)["cursor"], removed["cursor"]);
    expect_nothing_more(*again);
  }

  // A cursor of another bridge run, or no cursor at all: a snapshot with the terminal state.
  std::string foreign_cursor;
  {
    auto other_bridge = start_bridge({}, "-other");
    auto other = open_websocket(other_bridge->port(), token_for(alice));
    auto other_snapshot = next_of_type(*other, "snapshot");
    ASSERT_TRUE(other_snapshot);
    foreign_cursor = (*other_snapshot)["cursor"];
  }
  for (const std::string& unusable : {foreign_cursor, std::string("garbage"), std::string("1.x.2")}) {
    auto fresh = open_websocket(port, token_for(alice), unusable);
    auto snapshot = next_of_type(*fresh, "snapshot");
    ASSERT_TRUE(snapshot) << "cursor " << unusable;
    EXPECT_EQ((*snapshot)["recovered"], false) << "cursor " << unusable;
    EXPECT_EQ(job_ids((*snapshot)["jobs"]), std::set<std::string>{"long-run"}) << "cursor " << unusable;
    const auto* job = find_job((*snapshot)["jobs"], alice, "long-run");
    ASSERT_TRUE(job);
    EXPECT_EQ(job->value("status", ""), "completed");
  }
}

TEST_F(LiveStreams, SseResumesWithLastEventId) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto alice = user("alice");
  publish(alice, "upload", {{"status", "started"}, {"seq", 1}});
  ASSERT_TRUE(rest_serves(port, alice, "upload"));

  std::string last_event_id;
  {
    auto sse = open_sse(port, alice, token_for(alice));
    ASSERT_EQ(sse->status(), 200u);
    ASSERT_TRUE(next_event_of_type(*sse, "snapshot"));
    publish(alice, "upload", {{"status", "in_progress"}, {"progress", 20}, {"seq", 2}});
    auto update = next_event_of_type(*sse, "job");
    ASSERT_TRUE(update);
    last_event_id = (*update)["cursor"];
  }
  publish(alice, "upload", {{"status", "in_progress"}, {"progress", 70}, {"seq", 3}});
  publish(alice, "upload", {{"status", "failed"}, {"seq", 4}, {"error", {{"message", "quota"}}}});
  ASSERT_TRUE(rest_serves(port, alice, "upload", has_seq(4)));

  // What EventSource sends by itself on reconnect.
  auto resumed = open_sse(port, alice, token_for(alice), {{"Last-Event-ID", last_event_id}});
  ASSERT_EQ(resumed->status(), 200u) << resumed->body();
  auto resume = next_event_of_type(*resumed, "resume");
  ASSERT_TRUE(resume);
  EXPECT_EQ((*resume)["recovered"], true);
  std::vector<int> replayed_seqs;
  for (;;) {
    auto missed = next_event_of_type(*resumed, "job");
    ASSERT_TRUE(missed) << "the failed state never came";
    replayed_seqs.push_back((*missed)["job"].value("seq", -1));
    if ((*missed)["job"]["status"] == "failed") break;
  }
  EXPECT_EQ(replayed_seqs, (std::vector<int>{3, 4})) << "the missed changes, each of them, in order";

  // The cursor as a query parameter works the same way, and wins over the header.
  sse_test_client by_query{port,
                           "/api/v1/users/" + alice + "/stream?cursor=" + percent_encoded(last_event_id),
                           {{"Authorization", "Bearer " + token_for(alice)}, {"Last-Event-ID", "1.1"}}};
  ASSERT_EQ(by_query.status(), 200u);
  ASSERT_TRUE(next_event_of_type(by_query, "resume"));

  auto unknown = open_sse(port, alice, token_for(alice), {{"Last-Event-ID", "not-a-cursor"}});
  auto snapshot = next_event_of_type(*unknown, "snapshot");
  ASSERT_TRUE(snapshot);
  EXPECT_EQ((*snapshot)["recovered"], false);
  const auto* job = find_job((*snapshot)["jobs"], alice, "upload");
  ASSERT_TRUE(job);
  EXPECT_EQ(job->value("status", ""), "failed");
}

TEST_F(LiveStreams, CursorOlderThanTheChangeLogGetsASnapshot) {
  auto bridge = start_bridge({"--change-log-limit", "5"});
  const auto port = bridge->port();
  const auto alice = user("alice");
  publish(alice, "tracked", {{"status", "in_progress"}, {"seq", 1}});
  ASSERT_TRUE(rest_serves(port, alice, "tracked"));
  std::string cursor;
  {
    auto ws = open_websocket(port, token_for(alice));
    auto snapshot = next_of_type(*ws, "snapshot");
    ASSERT_TRUE(snapshot);
    cursor = (*snapshot)["cursor"];
  }
  // More changes than the log keeps, the last of them the end of the job.
  for (int i = 1; i <= 8; ++i)
    publish(alice, "noise-" + std::to_string(i), {{"status", "queued"}, {"seq", 1}});
  publish(alice, "tracked", {{"status", "completed"}, {"seq", 2}});
  ASSERT_TRUE(rest_serves(port, alice, "tracked", has_seq(2)));

  auto back = open_websocket(port, token_for(alice), cursor);
  auto snapshot = next_of_type(*back, "snapshot");
  ASSERT_TRUE(snapshot);
  EXPECT_EQ((*snapshot)["recovered"], false);
  EXPECT_EQ((*snapshot)["jobs"].size(), 9u);
  const auto* tracked = find_job((*snapshot)["jobs"], alice, "tracked");
  ASSERT_TRUE(tracked);
  EXPECT_EQ(tracked->value("status", ""), "completed");
}

TEST_F(LiveStreams, StreamsSurviveABrokerOutageAndLearnWhatChangedMeanwhile) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto alice = user("alice");
  publish(alice, "survivor", {{"status", "in_progress"}, {"seq", 1}});
  publish(alice, "gone", {{"status", "queued"}, {"seq", 1}});
  ASSERT_TRUE(rest_serves(port, alice, "survivor"));
  ASSERT_TRUE(rest_serves(port, alice, "gone"));
  auto ws = open_websocket(port, token_for(alice));
  auto snapshot = next_of_type(*ws, "snapshot");
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(job_ids((*snapshot)["jobs"]), (std::set<std::string>{"survivor", "gone"}));

  worker_->disconnect();
  broker_->stop();
  ASSERT_TRUE(wait_until([&] { return bridge->admin_get("/readyz").status == 503; }, 20s));
  broker_->start();
  // Most likely before the bridge is back (it retries after a delay): it then learns from the
  // retained messages it is replayed.
  ASSERT_EQ(worker_->connect("worker", mosquitto_broker::password("worker")), 0);
  remove_job(alice, "gone");
  publish(alice, "survivor", {{"status", "completed"}, {"seq", 2}});

  bool removed = false;
  bool completed = false;
  auto changes = messages_until(
      *ws,
      [&](const json& m) {
        removed = removed || (m.value("type", "") == "job_removed" && m.value("jobId", "") == "gone");
        const auto job = m.value("job", json::object());
        completed =
            completed || (job.value("jobId", "") == "survivor" && job.value("status", "") == "completed");
        return removed && completed;
      },
      20s);
  ASSERT_TRUE(changes) << bridge->log();
  for (auto& message : *changes) {
    EXPECT_TRUE(message["type"] == "job" || message["type"] == "job_removed") << shortened(message);
    if (message["type"] == "job") {
      EXPECT_EQ(message["job"]["jobId"], "survivor") << "nothing comes back";
    }
  }
  EXPECT_TRUE(rest_forgot(port, alice, "gone"));
  expect_nothing_more(*ws);
  // Dropping the connection ends the stream on the bridge, too (the restarted broker holds no copy of it).
  ws.reset();
  EXPECT_TRUE(
      wait_until([&] { return metric_total(bridge->scrape(), "progress_bridge_streams_open") == 0; }, 5s));
}

}  // namespace
}  // namespace progress::bridge
