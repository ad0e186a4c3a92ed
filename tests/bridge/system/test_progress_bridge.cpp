// The real progress-bridge binary against the project's real broker
// configuration, over real HTTP: what a worker publishes is what the REST API
// serves, with the isolation, error and limit rules of docs/api.md.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bridge_process.hpp"
#include "http_test_client.hpp"
#include "mosquitto_broker.hpp"
#include "mqtt_test_client.hpp"
#include "progress/publisher/publisher.hpp"
#include "prometheus_scrape.hpp"
#include "test_tokens.hpp"

namespace progress::bridge {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::bridge_process;
using test::expired_token_for;
using test::forged_token_for;
using test::http_get;
using test::metric_total;
using test::metric_with_label;
using test::mosquitto_broker;
using test::mqtt_test_client;
using test::send_request;
using test::token_for;
using test::unsigned_token_for;
using test::wait_until;
namespace http = test::http;

// Polls until the job answers 200 and satisfies `condition`.
std::optional<json> wait_for_job(unsigned short port, const std::string& user, const std::string& job,
                                 const std::function<bool(const json&)>& condition = {}) {
  std::optional<json> found;
  wait_until(
      [&] {
        const auto r = http_get(port, "/api/v1/users/" + user + "/jobs/" + job, token_for(user));
        if (r.status != 200) return false;
        auto body = r.body_json();
        if (condition && !condition(body)) return false;
        found = std::move(body);
        return true;
      },
      10s);
  return found;
}

class ProgressBridge : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { broker_ = std::make_unique<mosquitto_broker>(); }
  static void TearDownTestSuite() { broker_.reset(); }

  void SetUp() override {
    worker_ = std::make_unique<mqtt_test_client>(broker_->url(), "worker-rest-test");
    ASSERT_EQ(worker_->connect("worker", mosquitto_broker::password("worker")), 0);
  }
  void TearDown() override { worker_->disconnect(); }

  void publish(const std::string& user, const std::string& job, const json& state) {
    ASSERT_EQ(worker_->publish("users/" + user + "/jobs/" + job, state.dump()), 0);
  }

  static std::unique_ptr<mosquitto_broker> broker_;
  std::unique_ptr<mqtt_test_client> worker_;
};

std::unique_ptr<mosquitto_broker> ProgressBridge::broker_;

TEST_F(ProgressBridge, ServesWhatTheWorkerPublished) {
  bridge_process bridge{*broker_, "serves"};
  ASSERT_TRUE(bridge.becomes_ready()) << bridge.log();
  const json published = {
      {"status", "in_progress"},      {"progress", 42.5}, {"phase", 2}, {"totalPhases", 3},
      {"message", "encoding"},        {"type", "video"},  {"seq", 7},   {"attempt", 1},
      {"details", {{"codec", "av1"}}}};
  publish("alice", "serves-1", published);
  const auto job = wait_for_job(bridge.port(), "alice", "serves-1");
  ASSERT_TRUE(job) << bridge.log();
  for (const auto& [key, value] : published.items()) EXPECT_EQ((*job)[key], value) << key;
  EXPECT_EQ((*job)["userId"], "alice");
  EXPECT_EQ((*job)["jobId"], "serves-1");

  // Every message carries the job's full state.
  publish("alice", "serves-1",
          {{"status", "completed"}, {"progress", 100}, {"type", "video"}, {"seq", 8}, {"attempt", 1}});
  ASSERT_TRUE(wait_for_job(bridge.port(), "alice", "serves-1",
                           [](const json& j) { return j["status"] == "completed"; }));

  const auto list = http_get(bridge.port(), "/api/v1/users/alice/jobs?type=video", token_for("alice"));
  ASSERT_EQ(list.status, 200u);
  const auto jobs = list.body_json()["jobs"];
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["jobId"], "serves-1");

  const auto events = http_get(bridge.port(), "/api/v1/users/alice/jobs/serves-1/events", token_for("alice"));
  ASSERT_EQ(events.status, 200u);
  const auto history = events.body_json()["events"];
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0]["state"]["status"], "in_progress");
  EXPECT_EQ(history[1]["state"]["status"], "completed");

  const auto stats = http_get(bridge.port(), "/api/v1/users/alice/stats", token_for("alice"));
  ASSERT_EQ(stats.status, 200u);
  EXPECT_GE(stats.body_json()["completed"].get<int>(), 1);
  EXPECT_EQ(bridge.terminate(), 0) << bridge.log();
}

TEST_F(ProgressBridge, EnforcesIsolationAndAuthentication) {
  bridge_process bridge{*broker_, "isolation"};
  ASSERT_TRUE(bridge.becomes_ready());
  publish("alice", "iso-a", {{"status", "queued"}, {"seq", 1}});
  publish("bob", "iso-b", {{"status", "queued"}, {"seq", 1}});
  ASSERT_TRUE(wait_for_job(bridge.port(), "bob", "iso-b"));
  ASSERT_TRUE(wait_for_job(bridge.port(), "alice", "iso-a"));
  const auto port = bridge.port();

  EXPECT_EQ(http_get(port, "/api/v1/users/bob/jobs", token_for("alice")).status, 403u);
  EXPECT_EQ(http_get(port, "/api/v1/users/bob/jobs/iso-b", token_for("alice")).status, 403u);
  EXPECT_EQ(http_get(port, "/api/v1/jobs", token_for("alice")).status, 403u);

  const auto missing = http_get(port, "/api/v1/users/alice/jobs");
  EXPECT_EQ(missing.status, 401u);
  EXPECT_EQ(missing.raw[http::field::www_authenticate].substr(0, 6), "Bearer");
  EXPECT_EQ(missing.body_json()["error"]["code"], "token_missing");
  const auto refused = [&](const std::string& token) {
    const auto res = http_get(port, "/api/v1/users/alice/jobs", token);
    EXPECT_EQ(res.status, 401u);
    return res.body_json()["error"]["code"].get<std::string>();
  };
  EXPECT_EQ(refused("garbage"), "token_malformed");
  EXPECT_EQ(refused(expired_token_for("alice")), "token_expired");
  EXPECT_EQ(refused(forged_token_for("alice")), "token_bad_signature");
  EXPECT_EQ(refused(unsigned_token_for("alice")), "token_unsupported_algorithm");

  // The verdict on a token, for clients that cannot read a stream's 401.
  const auto session = http_get(port, "/api/v1/session", token_for("alice"));
  ASSERT_EQ(session.status, 200u) << session.body;
  EXPECT_EQ(session.body_json()["userId"], "alice");
  EXPECT_EQ(session.body_json()["admin"], false);
  EXPECT_GT(session.body_json()["expiresAt"].get<std::int64_t>(), 0);
  EXPECT_EQ(http_get(port, "/api/v1/session", expired_token_for("alice")).body_json()["error"]["code"],
            "token_expired");

  const auto all = http_get(port, "/api/v1/jobs?limit=500", token_for("ops", true));
  ASSERT_EQ(all.status, 200u) << all.body;
  std::set<std::string> owners;
  const auto listing = all.body_json();
  for (const auto& job : listing["jobs"]) owners.insert(job["userId"].get<std::string>());
  EXPECT_TRUE(owners.contains("alice"));
  EXPECT_TRUE(owners.contains("bob")) << all.body;
  EXPECT_EQ(http_get(port, "/api/v1/users/bob/jobs/iso-b", token_for("ops", true)).status, 200u);

  const auto scrape = bridge.scrape();
  EXPECT_GE(metric_total(scrape, "progress_bridge_auth_failures_total"), 5.0);
}

TEST_F(ProgressBridge, AnswersErrorsAsJson) {
  bridge_process bridge{*broker_, "errors"};
  const auto port = bridge.port();
  const auto alice = token_for("alice");
  const auto unknown_job = http_get(port, "/api/v1/users/alice/jobs/no-such-job", alice);
  EXPECT_EQ(unknown_job.status, 404u);
  EXPECT_EQ(unknown_job.body_json()["error"]["code"], "not_found");
  EXPECT_EQ(http_get(port, "/api/v2/whatever", alice).status, 404u);
  const auto wrong_method = send_request(port, http::verb::delete_, "/api/v1/users/alice/jobs", alice);
  EXPECT_EQ(wrong_method.status, 405u);
  EXPECT_EQ(wrong_method.raw[http::field::allow], "GET, OPTIONS");
  EXPECT_EQ(http_get(port, "/api/v1/users/al%20ice/jobs", alice).status, 400u);
  EXPECT_EQ(http_get(port, "/api/v1/users/alice/jobs?limit=9999", alice).status, 400u);
  EXPECT_EQ(http_get(port, "/api/v1/users/alice/jobs?status=sleeping", alice).status, 400u);
}

TEST_F(ProgressBridge, LimitsRequestRatePerClient) {
  bridge_process bridge{*broker_, "ratelimit", {"--rate-limit", "0.2", "--rate-limit-burst", "3"}};
  const auto alice = token_for("alice");
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(http_get(bridge.port(), "/api/v1/users/alice/jobs", alice).status, 200u);
  const auto limited = http_get(bridge.port(), "/api/v1/users/alice/jobs", alice);
  EXPECT_EQ(limited.status, 429u);
  EXPECT_EQ(limited.raw[http::field::retry_after], "5");
  EXPECT_EQ(bridge.admin_get("/healthz").status, 200u);
  EXPECT_GE(metric_total(bridge.scrape(), "progress_bridge_rate_limited_total"), 1.0);
}

TEST_F(ProgressBridge, ProbesAndMetrics) {
  bridge_process bridge{*broker_, "probes"};
  const auto health = bridge.admin_get("/healthz");
  ASSERT_EQ(health.status, 200u);
  EXPECT_EQ(health.body_json()["status"], "ok");
  ASSERT_TRUE(bridge.becomes_ready());
  for (int i = 0; i < 3; ++i) (void)http_get(bridge.port(), "/api/v1/users/alice/stats", token_for("alice"));
  const auto metrics = bridge.admin_get("/metrics");
  ASSERT_EQ(metrics.status, 200u);
  EXPECT_EQ(metrics.raw[http::field::content_type], "text/plain; version=0.0.4");
  EXPECT_GE(metric_total(metrics.body, "progress_bridge_http_requests_total"), 4.0);
  EXPECT_NE(metrics.body.find("/api/v1/users/{userId}/stats"), std::string::npos);
  // The public listener serves none of them.
  for (const auto* probe : {"/healthz", "/readyz", "/metrics"}) {
    EXPECT_EQ(http_get(bridge.port(), probe).status, 404u) << probe;
  }
}

TEST_F(ProgressBridge, RestartedBridgeServesRetainedJobsAgain) {
  publish("carol", "restart-1", {{"status", "in_progress"}, {"progress", 60}, {"seq", 3}});
  std::optional<json> before;
  {
    bridge_process bridge{*broker_, "restart-a"};
    before = wait_for_job(bridge.port(), "carol", "restart-1");
    ASSERT_TRUE(before) << bridge.log();
    EXPECT_EQ(bridge.terminate(), 0) << bridge.log();
  }
  bridge_process again{*broker_, "restart-b"};
  ASSERT_TRUE(again.becomes_ready());
  const auto after = http_get(again.port(), "/api/v1/users/carol/jobs/restart-1", token_for("carol"));
  ASSERT_EQ(after.status, 200u);
  auto state = after.body_json();
  auto expected = *before;
  state.erase("updatedAt");  // the time this bridge received it
  expected.erase("updatedAt");
  EXPECT_EQ(state, expected);
}

TEST_F(ProgressBridge, ReconnectsAfterBrokerRestartAndCatchesUp) {
  bridge_process bridge{*broker_, "reconnect"};
  ASSERT_TRUE(bridge.becomes_ready());
  worker_->disconnect();
  broker_->stop();
  EXPECT_TRUE(wait_until([&] { return bridge.admin_get("/readyz").status == 503; }, 20s));
  broker_->start();
  ASSERT_EQ(worker_->connect("worker", mosquitto_broker::password("worker")), 0);
  publish("alice", "after-restart", {{"status", "started"}, {"seq", 1}});
  EXPECT_TRUE(bridge.becomes_ready()) << bridge.log();
  EXPECT_TRUE(wait_for_job(bridge.port(), "alice", "after-restart")) << bridge.log();
}

TEST_F(ProgressBridge, ThousandMalformedMessagesHarmNoGoodJob) {
  bridge_process bridge{*broker_, "malformed"};
  ASSERT_TRUE(bridge.becomes_ready());
  const json good_a = {{"status", "in_progress"}, {"progress", 30}, {"seq", 5}, {"message", "steady"}};
  const json good_b = {{"status", "completed"}, {"progress", 100}, {"seq", 9}};
  publish("alice", "good-a", good_a);
  publish("bob", "good-b", good_b);
  ASSERT_TRUE(wait_for_job(bridge.port(), "alice", "good-a"));
  ASSERT_TRUE(wait_for_job(bridge.port(), "bob", "good-b"));

  // Every kind of bad payload, aimed at the good jobs' own topics too.
  const std::vector<std::pair<std::string, std::string>> bad_payloads = {
      {"invalid_json", "{not json"},
      {"not_an_object", "[1,2,3]"},
      {"missing_field", R"({"progress":10})"},
      {"wrong_type", R"({"status":"in_progress","progress":"half"})"},
      {"out_of_range", R"({"status":"in_progress","progress":250,"seq":99})"},
      {"invalid_value", R"({"status":"exploded","seq":99})"},
      {"id_mismatch", R"({"status":"failed","userId":"mallory","seq":99})"},
      {"invalid_utf8", "{\"status\":\"failed\",\"message\":\"\xc3\x28\",\"seq\":99}"},
      {"too_deep",
       R"({"status":"failed","details":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"k":{"l":{"m":{"n":{"o":{"p":{"q":1}}}}}}}}}}}}}}}}}})"},
  };
  const std::vector<std::string> topics = {"users/alice/jobs/good-a", "users/bob/jobs/good-b",
                                           "users/alice/jobs/bad-1", "users/carol/jobs/bad-2"};
  constexpr int total_bad = 1000;
  for (int i = 0; i < total_bad; ++i) {
    const auto& payload = bad_payloads[static_cast<std::size_t>(i) % bad_payloads.size()].second;
    const auto& topic = topics[static_cast<std::size_t>(i) % topics.size()];
    ASSERT_EQ(worker_->publish(topic, payload, false), 0);
  }
  // An oversize payload (over 64 KiB, under the broker's packet limit) is refused by the bridge too.
  const std::string oversize = R"({"status":"failed","message":")" + std::string(66 * 1024, 'x') + "\"}";
  ASSERT_EQ(worker_->publish("users/alice/jobs/good-a", oversize, false), 0);

  // A good update after the flood arrives, so everything before it was processed.
  publish("alice", "good-c", {{"status", "queued"}, {"seq", 1}});
  ASSERT_TRUE(wait_for_job(bridge.port(), "alice", "good-c")) << bridge.log();

  auto a = http_get(bridge.port(), "/api/v1/users/alice/jobs/good-a", token_for("alice")).body_json();
  auto b = http_get(bridge.port(), "/api/v1/users/bob/jobs/good-b", token_for("bob")).body_json();
  for (const auto& [key, value] : good_a.items()) EXPECT_EQ(a[key], value) << key;
  for (const auto& [key, value] : good_b.items()) EXPECT_EQ(b[key], value) << key;
  EXPECT_EQ(http_get(bridge.port(), "/api/v1/users/alice/jobs/bad-1", token_for("alice")).status, 404u);
  EXPECT_EQ(http_get(bridge.port(), "/api/v1/users/carol/jobs/bad-2", token_for("carol")).status, 404u);

  const auto scrape = bridge.scrape();
  EXPECT_EQ(metric_total(scrape, "progress_bridge_mqtt_messages_rejected_total"), total_bad + 1.0) << scrape;
  for (const auto& [reason, payload] : bad_payloads) {
    EXPECT_GT(metric_with_label(scrape, "progress_bridge_mqtt_messages_rejected_total", "\"" + reason + "\""),
              0.0)
        << reason;
  }
  EXPECT_EQ(metric_with_label(scrape, "progress_bridge_mqtt_messages_rejected_total", "\"oversize\""), 1.0);
  EXPECT_EQ(bridge.admin_get("/healthz").status, 200u);
  EXPECT_EQ(bridge.terminate(), 0) << bridge.log();
}

TEST_F(ProgressBridge, ServesJobsReportedThroughThePublisherSdk) {
  bridge_process bridge{*broker_, "sdk"};
  ASSERT_TRUE(bridge.becomes_ready());
  {
    progress::publisher_options options;
    options.url = broker_->url();
    options.username = "worker";
    options.password = mosquitto_broker::password("worker");
    options.worker_id = "sdk-worker";
    progress::publisher publisher{options};
    auto job = publisher.job("alice", "sdk-import", progress::job_options{.type = "data_import"});
    job.start("Queued behind 2 imports");
    job.phase(1, 3, "Download", "Fetching the export");
    job.counter(400, 1000, "Parsing rows");
    job.phase(2, 3, "Validate");
    job.fail("Row 401: invalid date", "INVALID_ROW").wait();
  }
  const auto failed = wait_for_job(bridge.port(), "alice", "sdk-import",
                                   [](const json& j) { return j["status"] == "failed"; });
  ASSERT_TRUE(failed) << bridge.log();
  EXPECT_EQ((*failed)["error"]["message"], "Row 401: invalid date");
  EXPECT_EQ((*failed)["error"]["code"], "INVALID_ROW");
  EXPECT_EQ((*failed)["phase"], 2);
  EXPECT_EQ((*failed)["totalPhases"], 3);
  EXPECT_EQ((*failed)["phaseTitle"], "Validate");
  EXPECT_EQ((*failed)["type"], "data_import");
  EXPECT_EQ((*failed)["workerId"], "sdk-worker");

  // Phase changes and the terminal state are never coalesced away.
  const auto events =
      http_get(bridge.port(), "/api/v1/users/alice/jobs/sdk-import/events", token_for("alice"));
  ASSERT_EQ(events.status, 200u);
  std::vector<std::string> phases;
  const auto history = events.body_json();
  for (const auto& event : history["events"]) {
    const auto& state = event["state"];
    if (state.contains("phaseTitle")) phases.push_back(state["phaseTitle"].get<std::string>());
  }
  ASSERT_FALSE(phases.empty());
  EXPECT_EQ(phases.front(), "Download");
  EXPECT_EQ(phases.back(), "Validate");
}

}  // namespace
}  // namespace progress::bridge
