// Stalled jobs and cancellation with real processes: the progress-bridge
// binary, Mosquitto with the project's broker-config, the demo worker (the C++
// SDK) killed with SIGKILL or asked to cancel, and REST, WebSocket and SSE
// clients reading what a browser would.
#include <signal.h>

#include "child_process.hpp"
#include "live_stream_fixture.hpp"
#include "progress/protocol/control_message.hpp"
#include "temp_dir.hpp"

namespace progress::bridge {
namespace {

using test::child_process;
using test::send_request;

// What a user sees happen must happen within this on a loaded machine; the
// times it takes are printed, not asserted.
constexpr auto within = 20s;

// Every test has a broker of its own: the demo worker's job ids are made of
// the second it started in, so two workers of one broker could meet.
class JobLifecycle : public LiveStreams {
 protected:
  static void SetUpTestSuite() {}
  static void TearDownTestSuite() {}
  void SetUp() override {
    broker_ = std::make_unique<mosquitto_broker>();
    LiveStreams::SetUp();
  }
  void TearDown() override {
    workers_.clear();
    worker_dirs_.clear();
    LiveStreams::TearDown();
    broker_.reset();
  }

  // A bridge that does not limit the request rate: the tests poll REST until things happen.
  static std::unique_ptr<bridge_process> start_bridge(const std::string& suffix = {}) {
    return LiveStreams::start_bridge({"--rate-limit", "0"}, suffix);
  }

  // The demo worker, one round for alice, bob and carol; `speed` below 1 slows it down.
  child_process& start_demo_worker(const std::string& worker_id, double speed = 0.5) {
    const auto& dir = worker_dirs_.emplace_back("demo-worker-" + worker_id);
    workers_.push_back(std::make_unique<child_process>(
        std::vector<std::string>{PROGRESS_DEMO_WORKER, "--url", broker_->url(), "--username", "worker",
                                 "--password", mosquitto_broker::password("worker"), "--worker-id", worker_id,
                                 "--rounds", "1", "--speed", std::to_string(speed)},
        dir / "worker.log"));
    return *workers_.back();
  }

  // Alice's launch job of the demo worker once it moved, as REST serves it.
  static json running_launch(unsigned short port) {
    json found;
    wait_until(
        [&] {
          const auto reply =
              http_get(port, "/api/v1/users/alice/jobs?type=launch&status=in_progress", token_for("alice"));
          if (reply.status != 200) return false;
          const auto jobs = reply.body_json()["jobs"];
          if (jobs.empty() || jobs[0].value("progress", 0.0) <= 0.0) return false;
          found = jobs[0];
          return true;
        },
        within);
    return found;
  }

  static test::http_reply cancel(unsigned short port, const std::string& user, const std::string& job_id,
                                 const std::string& token) {
    return send_request(port, http::verb::post, "/api/v1/users/" + user + "/jobs/" + job_id + "/cancel",
                        token);
  }

  static std::function<bool(const json&)> stalled_for(std::string reason) {
    return [reason](const json& job) {
      return job.contains("stalled") && job["stalled"].value("reason", "") == reason;
    };
  }
  static bool not_stalled(const json& job) { return !job.contains("stalled"); }

  std::vector<std::unique_ptr<child_process>> workers_;
  std::vector<test::temp_dir> worker_dirs_;  // their logs
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST_F(JobLifecycle, AKilledWorkerStallsItsJobAndAnUpdateClearsIt) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  auto& worker = start_demo_worker("doomed");
  const auto launch = running_launch(port);
  ASSERT_FALSE(launch.is_null()) << worker.log();
  const auto job_id = launch["jobId"].get<std::string>();
  EXPECT_EQ(launch["workerId"], "doomed");
  EXPECT_FALSE(launch.contains("stalled"));

  auto ws = open_websocket(port, token_for("alice"));
  ASSERT_TRUE(next_of_type(*ws, "snapshot"));
  auto sse = open_sse(port, "alice", token_for("alice"));
  ASSERT_TRUE(next_event_of_type(*sse, "snapshot"));

  const auto killed = std::chrono::steady_clock::now();
  worker.kill_hard();
  const auto is_stalled_launch = [&](const json& message) {
    return text_field(message, "type") == "job" && text_field(message["job"], "jobId") == job_id &&
           message["job"].contains("stalled");
  };
  auto streamed = messages_until(*ws, is_stalled_launch, within);
  ASSERT_TRUE(streamed);
  const auto on_websocket = seconds_since(killed);
  const auto stalled = streamed->back()["job"];
  EXPECT_EQ(stalled["stalled"]["reason"], "worker_offline");
  EXPECT_GT(stalled["stalled"]["since"].get<std::int64_t>(), 0);
  EXPECT_EQ(stalled["status"], "in_progress");  // the state is the worker's last one
  EXPECT_EQ(stalled["seq"], rest_job(port, "alice", job_id)["seq"]);
  ASSERT_TRUE(rest_serves(port, "alice", job_id, stalled_for("worker_offline")));
  std::cout << "kill -9 -> stalled: " << on_websocket << " s on the WebSocket, " << seconds_since(killed)
            << " s on REST\n";
  for (;;) {  // the SSE stream gets it too (after the other jobs of alice that moved meanwhile)
    auto event = next_event_of_type(*sse, "job", within);
    ASSERT_TRUE(event);
    if ((*event)["job"]["jobId"] == job_id && (*event)["job"].contains("stalled")) break;
  }
  const auto stats = http_get(port, "/api/v1/users/alice/stats", token_for("alice")).body_json();
  EXPECT_EQ(stats["stalled"], 1) << stats.dump();

  // A worker picks the job up again: its next update clears the mark.
  auto next = launch;
  next["seq"] = 1000;
  next["progress"] = 99;
  next.erase("updatedAt");
  publish("alice", job_id, next);
  auto cleared = messages_until(
      *ws, [&](const json& m) { return text_field(m, "type") == "job" && m["job"]["seq"] == 1000; }, within);
  ASSERT_TRUE(cleared);
  EXPECT_FALSE(cleared->back()["job"].contains("stalled"));
  EXPECT_TRUE(not_stalled(rest_job(port, "alice", job_id)));
  EXPECT_EQ(http_get(port, "/api/v1/users/alice/stats", token_for("alice")).body_json()["stalled"], 0);
}

TEST_F(JobLifecycle, AWorkerBackOnlineDoesNotClearTheMarkOfItsJobs) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  publish("alice", "left", {{"status", "in_progress"}, {"seq", 1}, {"workerId", "flaky"}});
  ASSERT_TRUE(rest_serves(port, "alice", "left"));
  ASSERT_EQ(worker_->publish("workers/flaky/status", R"({"status":"offline","workerId":"flaky"})"), 0);
  ASSERT_TRUE(rest_serves(port, "alice", "left", stalled_for("worker_offline")));
  ASSERT_EQ(worker_->publish("workers/flaky/status", R"({"status":"online","workerId":"flaky"})"), 0);
  // The next message of the stream after "online" is processed: an update of another job.
  publish("alice", "marker", {{"status", "queued"}, {"seq", 1}});
  ASSERT_TRUE(rest_serves(port, "alice", "marker"));
  EXPECT_TRUE(stalled_for("worker_offline")(rest_job(port, "alice", "left")));
}

TEST_F(JobLifecycle, ASilentJobStallsAfterItsOwnStallTime) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  auto sse = open_sse(port, "alice", token_for("alice"));
  ASSERT_TRUE(next_event_of_type(*sse, "snapshot"));
  const auto published = std::chrono::steady_clock::now();
  publish("alice", "quiet", {{"status", "in_progress"}, {"seq", 1}, {"stallAfterMs", 1500}});
  publish("alice", "patient", {{"status", "in_progress"}, {"seq", 1}});  // the default: 10 minutes

  std::optional<json> stalled;
  while (!stalled) {
    auto event = next_event_of_type(*sse, "job", within);
    ASSERT_TRUE(event);
    if ((*event)["job"].contains("stalled")) stalled = (*event)["job"];
  }
  const auto elapsed = seconds_since(published);
  EXPECT_EQ((*stalled)["jobId"], "quiet");
  EXPECT_EQ((*stalled)["stalled"]["reason"], "silent");
  EXPECT_EQ((*stalled)["stallAfterMs"], 1500);
  EXPECT_GE(elapsed, 1.4) << "stalled before its stall time";
  std::cout << "stallAfterMs 1500 -> stalled after " << elapsed << " s\n";
  EXPECT_TRUE(stalled_for("silent")(rest_job(port, "alice", "quiet")));
  EXPECT_TRUE(not_stalled(rest_job(port, "alice", "patient")));

  // An update clears the mark (the update's own message says so, whenever it is read) ...
  publish("alice", "quiet", {{"status", "in_progress"}, {"seq", 2}, {"stallAfterMs", 1500}});
  auto update = next_event_of_type(*sse, "job", within);
  ASSERT_TRUE(update);
  EXPECT_EQ((*update)["job"]["seq"], 2);
  EXPECT_FALSE((*update)["job"].contains("stalled")) << update->dump();
  // ... and silent once more, the job is stalled once more.
  auto again = next_event_of_type(*sse, "job", within);
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)["job"]["seq"], 2);
  EXPECT_EQ((*again)["job"]["stalled"]["reason"], "silent");
}

TEST_F(JobLifecycle, AnOutOfRangeStallTimeIsRefused) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  publish("alice", "too-quick", {{"status", "in_progress"}, {"seq", 1}, {"stallAfterMs", 10}});
  publish("alice", "fine", {{"status", "in_progress"}, {"seq", 1}});
  ASSERT_TRUE(rest_serves(port, "alice", "fine"));
  EXPECT_TRUE(rest_job(port, "alice", "too-quick").is_null());
  EXPECT_EQ(metric_with_label(bridge->scrape(), "progress_bridge_mqtt_messages_rejected_total",
                              "reason=\"out_of_range\""),
            1.0);
}

TEST_F(JobLifecycle, AJobWhoseWorkerDiedWhileTheBridgeWasDownIsStalledAtStart) {
  auto& worker = start_demo_worker("gone-meanwhile");
  {
    auto bridge = start_bridge("-first");
    ASSERT_FALSE(running_launch(bridge->port()).is_null()) << worker.log();
    EXPECT_EQ(bridge->terminate(), 0);
  }
  worker.kill_hard();
  auto bridge = start_bridge("-second");
  const auto jobs = http_get(bridge->port(), "/api/v1/users/alice/jobs?type=launch", token_for("alice"))
                        .body_json()["jobs"];
  ASSERT_EQ(jobs.size(), 1u) << jobs.dump();
  // The Last Will is retained with the job: the new bridge reads both as it starts.
  EXPECT_TRUE(rest_serves(bridge->port(), "alice", jobs[0]["jobId"].get<std::string>(),
                          stalled_for("worker_offline")))
      << jobs[0].dump();
}

TEST_F(JobLifecycle, AliceCancelsHerJobAndTheWorkerEndsItCancelled) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  auto& worker = start_demo_worker("obedient", 1.0);
  const auto launch = running_launch(port);
  ASSERT_FALSE(launch.is_null()) << worker.log();
  const auto job_id = launch["jobId"].get<std::string>();
  // Alice may read her control topics from the broker: she sees the request and its clearing.
  mqtt_test_client watcher(broker_->url(), "alice-watcher");
  ASSERT_EQ(watcher.connect("alice", mosquitto_broker::password("alice")), 0);
  ASSERT_LT(watcher.subscribe("users/alice/jobs/+/control"), 0x80);

  const auto asked = cancel(port, "alice", job_id, token_for("alice"));
  ASSERT_EQ(asked.status, 202u) << asked.body;
  const auto request_id = asked.body_json()["requestId"].get<std::string>();
  EXPECT_TRUE(is_valid_request_id(request_id)) << request_id;
  const auto marked = rest_job(port, "alice", job_id);
  if (marked.value("status", "") != "cancelled") {  // the worker may be quicker than this read
    EXPECT_EQ(marked["cancelRequested"]["requestId"], request_id) << marked.dump();
    EXPECT_EQ(marked["cancelRequested"]["requestedBy"], "alice");
  }
  // Asking again while it is pending answers with the same request.
  const auto again = cancel(port, "alice", job_id, token_for("alice"));
  if (again.status == 202u) {
    EXPECT_EQ(again.body_json()["requestId"], request_id);
  }

  ASSERT_TRUE(rest_serves(port, "alice", job_id, [](const json& job) {
    return job["status"] == "cancelled";
  })) << worker.log();
  const auto ended = rest_job(port, "alice", job_id);
  EXPECT_FALSE(ended.contains("cancelRequested")) << ended.dump();
  EXPECT_EQ(ended["message"], "Cancelled by alice");

  const auto topic = "users/alice/jobs/" + job_id + "/control";
  ASSERT_TRUE(wait_until([&] { return watcher.messages().size() >= 2; }, within));
  const auto seen = watcher.messages();
  EXPECT_EQ(seen[0].topic, topic);
  const auto request = parse_control(seen[0].payload);
  ASSERT_TRUE(request) << seen[0].payload;
  EXPECT_EQ(*request.message, (control_message{"cancel", request_id, "alice", request.message->timestamp}));
  EXPECT_EQ(seen[1].topic, topic);
  EXPECT_EQ(seen[1].payload, "") << "the request was not cleared when the job ended";
  watcher.disconnect();

  // Finished: 409. The other jobs of the round went on.
  EXPECT_EQ(cancel(port, "alice", job_id, token_for("alice")).status, 409u);
  EXPECT_EQ(worker.wait_exit(90s), 0) << worker.log();
}

TEST_F(JobLifecycle, OnlyTheOwnerOrAnAdminMayCancelAndOnlyJobsThatRun) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  publish("alice", "running", {{"status", "in_progress"}, {"seq", 1}});
  publish("alice", "done", {{"status", "completed"}, {"seq", 1}});
  ASSERT_TRUE(rest_serves(port, "alice", "running"));
  ASSERT_TRUE(rest_serves(port, "alice", "done"));

  const auto forbidden = cancel(port, "alice", "running", token_for("bob"));
  EXPECT_EQ(forbidden.status, 403u) << forbidden.body;
  EXPECT_FALSE(rest_job(port, "alice", "running").contains("cancelRequested"));
  EXPECT_EQ(cancel(port, "alice", "unknown", token_for("alice")).status, 404u);
  const auto finished = cancel(port, "alice", "done", token_for("alice"));
  EXPECT_EQ(finished.status, 409u);
  EXPECT_EQ(finished.body_json()["error"]["code"], "job_finished");
  // The token only in the Authorization header: a query parameter is no token here.
  const auto by_query = send_request(
      port, http::verb::post, "/api/v1/users/alice/jobs/running/cancel?access_token=" + token_for("alice"));
  EXPECT_EQ(by_query.status, 401u);
  EXPECT_EQ(http_get(port, "/api/v1/users/alice/jobs/running/cancel", token_for("alice")).status, 405u);

  const auto by_admin = cancel(port, "alice", "running", token_for("ops", true));
  ASSERT_EQ(by_admin.status, 202u) << by_admin.body;
  ASSERT_TRUE(rest_serves(port, "alice", "running", [](const json& job) {
    return job.contains("cancelRequested") && job["cancelRequested"]["requestedBy"] == "ops";
  }));
  // Retained at the broker for the worker that comes, as the worker account reads it.
  mqtt_test_client late_worker(broker_->url(), "late-worker");
  ASSERT_EQ(late_worker.connect("worker", mosquitto_broker::password("worker")), 0);
  ASSERT_LT(late_worker.subscribe("users/alice/jobs/running/control"), 0x80);
  const auto retained = late_worker.wait_for("users/alice/jobs/running/control", 10s);
  ASSERT_TRUE(retained);
  EXPECT_TRUE(retained->retained);
  EXPECT_EQ(parse_control(retained->payload).message->requested_by, "ops");
  late_worker.disconnect();
}

TEST_F(JobLifecycle, ACancelRequestNeedsTheBroker) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  publish("alice", "running", {{"status", "in_progress"}, {"seq", 1}});
  ASSERT_TRUE(rest_serves(port, "alice", "running"));
  worker_->disconnect();
  broker_->stop();
  ASSERT_TRUE(wait_until([&] { return bridge->admin_get("/readyz").status == 503; }, within));
  const auto refused = cancel(port, "alice", "running", token_for("alice"));
  EXPECT_EQ(refused.status, 503u) << refused.body;
  EXPECT_EQ(refused.body_json()["error"]["code"], "broker_unavailable");
  broker_->start();
  ASSERT_TRUE(wait_until([&] { return bridge->admin_get("/readyz").status == 200; }, within));
  EXPECT_EQ(cancel(port, "alice", "running", token_for("alice")).status, 202u);
  ASSERT_EQ(worker_->connect("worker", mosquitto_broker::password("worker")), 0);
}

TEST_F(JobLifecycle, ARequestSurvivesARestartOfTheBridgeAndIsClearedWhenTheJobEnds) {
  publish("alice", "long", {{"status", "in_progress"}, {"seq", 1}});
  const auto asked = [](const json& job) { return job.contains("cancelRequested"); };
  {
    auto bridge = start_bridge("-first");
    ASSERT_TRUE(rest_serves(bridge->port(), "alice", "long"));
    ASSERT_EQ(cancel(bridge->port(), "alice", "long", token_for("alice")).status, 202u);
    ASSERT_TRUE(rest_serves(bridge->port(), "alice", "long", asked));
    EXPECT_EQ(bridge->terminate(), 0);
  }
  // The next bridge reads the request back from the broker.
  auto bridge = start_bridge("-second");
  ASSERT_TRUE(rest_serves(bridge->port(), "alice", "long", asked));

  const std::string topic = "users/alice/jobs/long/control";
  mqtt_test_client watcher(broker_->url(), "alice-watcher");
  ASSERT_EQ(watcher.connect("alice", mosquitto_broker::password("alice")), 0);
  ASSERT_LT(watcher.subscribe(topic), 0x80);
  ASSERT_TRUE(watcher.wait_for(topic, 10s));  // the retained request
  publish("alice", "long", {{"status", "cancelled"}, {"seq", 2}});
  ASSERT_TRUE(wait_until(
      [&] {
        const auto seen = watcher.messages();
        return seen.size() >= 2 && seen.back().topic == topic && seen.back().payload.empty();
      },
      within))
      << "the request was not cleared when the job ended";
  EXPECT_FALSE(asked(rest_job(bridge->port(), "alice", "long")));
  watcher.disconnect();
}

}  // namespace
}  // namespace progress::bridge
