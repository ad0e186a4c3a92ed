// Nothing lost: the real progress-bridge and a real Mosquitto with the
// project's broker-config, killed (SIGKILL) and restarted. What the bridge
// served before, it serves after; what the broker acknowledged to a worker, a
// client that subscribes after the broker's crash receives again
// (docs/reliability.md).
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bridge_process.hpp"
#include "http_test_client.hpp"
#include "mosquitto_broker.hpp"
#include "mqtt_test_client.hpp"
#include "prometheus_scrape.hpp"
#include "temp_dir.hpp"
#include "test_tokens.hpp"

namespace progress::bridge {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::bridge_process;
using test::http_get;
using test::metric_total;
using test::mosquitto_broker;
using test::mqtt_test_client;
using test::token_for;
using test::wait_until;

json state(const std::string& status, int seq, double progress, std::size_t details_bytes = 0) {
  json s{{"status", status}, {"seq", seq}, {"attempt", 1}, {"progress", progress}};
  if (details_bytes > 0) s["details"] = {{"blob", std::string(details_bytes, 'd')}};
  return s;
}

class Durability : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<mosquitto_broker>();
    data_dir_.emplace("progress-durability");
    connect_worker();
  }
  void TearDown() override {
    worker_.reset();
    bridge_.reset();
    broker_.reset();
    data_dir_.reset();
  }

  void connect_worker() {
    worker_ = std::make_unique<mqtt_test_client>(broker_->url(), "worker-" + std::to_string(++workers_));
    ASSERT_EQ(worker_->connect("worker", mosquitto_broker::password("worker")), 0) << broker_->log();
  }

  // A bridge on the test's data directory, ready (connected and its replay reconciled).
  void start_bridge(std::vector<std::string> args = {}) {
    args.insert(args.end(), {"--data-dir", data_dir_->path().string()});
    bridge_ = std::make_unique<bridge_process>(*broker_, "durability", args);
    ASSERT_TRUE(wait_until([&] { return bridge_->admin_get("/readyz").status == 200; }, 30s))
        << bridge_->log();
  }

  [[nodiscard]] unsigned short port() const { return bridge_->port(); }

  // Times for docs/reliability.md, in the test's XML or JSON report.
  static void record_ms(const std::string& name, std::chrono::steady_clock::time_point since) {
    const auto elapsed = std::chrono::steady_clock::now() - since;
    RecordProperty(name,
                   std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));
  }

  // Publishes retained at QoS 1: returns once the broker acknowledged it.
  void publish(const std::string& user, const std::string& job, const std::string& payload) {
    ASSERT_EQ(worker_->publish("users/" + user + "/jobs/" + job, payload), 0);
  }

  [[nodiscard]] test::http_reply events(const std::string& user, const std::string& job) const {
    return http_get(port(), "/api/v1/users/" + user + "/jobs/" + job + "/events", token_for(user));
  }

  [[nodiscard]] double metric(const std::string& name) const { return metric_total(bridge_->scrape(), name); }

  // Everything the bridge holds is in its journal, and covered by a state
  // marker the broker acknowledged.
  void wait_until_durable() {
    ASSERT_TRUE(wait_until(
        [&] {
          return metric("progress_bridge_journal_backlog") == 0 &&
                 metric("progress_bridge_changes_unmarked") == 0;
        },
        20s))
        << bridge_->log();
  }

  std::unique_ptr<mosquitto_broker> broker_;
  std::optional<test::temp_dir> data_dir_;
  std::unique_ptr<mqtt_test_client> worker_;
  std::unique_ptr<bridge_process> bridge_;
  int workers_ = 0;
};

TEST_F(Durability, ABridgeKilledAndRestartedServesEveryStateAndTimelineAsBefore) {
  start_bridge();
  for (int seq = 1; seq <= 5; ++seq) publish("alice", "import", state("in_progress", seq, seq * 20.0).dump());
  publish("alice", "import", state("completed", 6, 100).dump());
  publish("bob", "report", state("failed", 1, 40).dump());
  ASSERT_TRUE(wait_until([&] {
    const auto reply = events("alice", "import");
    return reply.status == 200 && reply.body_json()["events"].size() == 6;
  })) << bridge_->log();
  const auto before = events("alice", "import").body;
  const auto job_before = http_get(port(), "/api/v1/users/bob/jobs/report", token_for("bob")).body;
  wait_until_durable();

  bridge_->kill_hard();
  bridge_.reset();
  const auto restarted_at = std::chrono::steady_clock::now();
  start_bridge();
  record_ms("restart_until_ready_ms", restarted_at);
  // The timeline is the journal's: the broker only ever holds the latest state.
  EXPECT_EQ(events("alice", "import").body, before);
  EXPECT_EQ(http_get(port(), "/api/v1/users/bob/jobs/report", token_for("bob")).body, job_before);

  // And the numbering goes on.
  publish("alice", "import", state("completed", 7, 100).dump());  // after terminal: ignored
  publish("alice", "next", state("queued", 1, 0).dump());
  ASSERT_TRUE(wait_until([&] { return events("alice", "next").status == 200; }));
  EXPECT_EQ(events("alice", "import").body_json()["events"].size(), 6u);
}

TEST_F(Durability, AJobCompletedJustBeforeTheBrokerWasKilledIsNotLost) {
  start_bridge();
  publish("alice", "launch", state("in_progress", 1, 50).dump());
  ASSERT_TRUE(wait_until([&] { return events("alice", "launch").status == 200; }));
  wait_until_durable();

  publish("alice", "launch", state("completed", 2, 100).dump());  // acknowledged to the worker...
  broker_->kill_hard();                                           // ...and gone from the broker
  worker_.reset();
  broker_->start();
  const auto broker_back_at = std::chrono::steady_clock::now();

  // The bridge kept it, and gives it back to the broker.
  ASSERT_TRUE(wait_until([&] { return bridge_->admin_get("/readyz").status == 200; }, 30s)) << bridge_->log();
  record_ms("broker_back_until_ready_ms", broker_back_at);
  const auto job = http_get(port(), "/api/v1/users/alice/jobs/launch", token_for("alice"));
  ASSERT_EQ(job.status, 200u) << bridge_->log();
  EXPECT_EQ(job.body_json()["status"], "completed");
  ASSERT_TRUE(wait_until([&] { return metric("progress_bridge_republished_total") >= 1; }, 20s))
      << bridge_->log();
  record_ms("broker_back_until_republished_ms", broker_back_at);

  // A plain MQTT client, subscribing after the crash, receives it from the broker.
  mqtt_test_client alice{broker_->url(), "alice-after-crash"};
  ASSERT_EQ(alice.connect("alice", mosquitto_broker::password("alice")), 0);
  ASSERT_LT(alice.subscribe("users/alice/jobs/+"), 0x80);
  const auto message = alice.wait_for("users/alice/jobs/launch", 10s);
  ASSERT_TRUE(message) << broker_->log();
  EXPECT_TRUE(message->retained);
  const auto received = json::parse(message->payload);
  EXPECT_EQ(received["status"], "completed");
  EXPECT_EQ(received["seq"], 2);
}

TEST_F(Durability, AJobRemovedWhileTheBridgeWasDownStaysRemoved) {
  start_bridge();
  publish("alice", "temporary", state("completed", 3, 100).dump());
  publish("alice", "kept", state("in_progress", 1, 10).dump());
  ASSERT_TRUE(wait_until(
      [&] { return events("alice", "temporary").status == 200 && events("alice", "kept").status == 200; }));
  wait_until_durable();
  bridge_->kill_hard();
  bridge_.reset();

  publish("alice", "temporary", "");  // removed while the bridge is down
  start_bridge();
  EXPECT_EQ(events("alice", "temporary").status, 404u) << bridge_->log();
  EXPECT_EQ(events("alice", "kept").status, 200u);
}

TEST_F(Durability, ByteBudgetsBoundLargeStatesAndTheirTimelines) {
  start_bridge({"--history-bytes", "256k", "--bytes-per-user", "4M"});
  constexpr int jobs = 20;
  constexpr int updates = 10;
  for (int seq = 1; seq <= updates; ++seq) {
    for (int job = 0; job < jobs; ++job) {
      publish("alice", "big-" + std::to_string(job), state("in_progress", seq, seq * 10.0, 60 * 1024).dump());
    }
  }
  ASSERT_TRUE(wait_until([&] {
    const auto reply =
        http_get(port(), "/api/v1/users/alice/jobs/big-" + std::to_string(jobs - 1), token_for("alice"));
    return reply.status == 200 && reply.body_json()["seq"] == updates;
  })) << bridge_->log();
  EXPECT_LE(metric("progress_bridge_store_bytes"), 4 * 1024 * 1024);
  for (int job = 0; job < jobs; ++job) {
    const auto reply = events("alice", "big-" + std::to_string(job));
    ASSERT_EQ(reply.status, 200u);
    const auto timeline = reply.body_json()["events"];
    EXPECT_LE(timeline.size(), 4u) << "256 KiB hold four events of 60 KB";
    EXPECT_EQ(timeline.back()["state"]["seq"], updates) << "the latest state always stays";
  }

  // What the journal holds comes back within the same budgets.
  wait_until_durable();
  bridge_->kill_hard();
  bridge_.reset();
  start_bridge({"--history-bytes", "256k", "--bytes-per-user", "4M"});
  EXPECT_LE(events("alice", "big-0").body_json()["events"].size(), 4u);
  EXPECT_EQ(events("alice", "big-0").body_json()["events"].back()["state"]["seq"], updates);
}

TEST_F(Durability, AFullDiskIsCountedAndTheBridgeKeepsServing) {
  start_bridge({"--data-max-bytes", "1M"});
  for (int seq = 1; seq <= 30; ++seq)
    publish("alice", "growing", state("in_progress", seq, seq, 60 * 1024).dump());
  ASSERT_TRUE(wait_until([&] { return metric("progress_bridge_journal_write_errors_total") >= 1; }, 20s))
      << bridge_->log();
  EXPECT_EQ(metric("progress_bridge_journal_healthy"), 0);
  EXPECT_EQ(bridge_->admin_get("/readyz").status, 200u) << "serving from memory";
  ASSERT_TRUE(wait_until([&] {
    const auto reply = http_get(port(), "/api/v1/users/alice/jobs/growing", token_for("alice"));
    return reply.status == 200 && reply.body_json()["seq"] == 30;
  }));
  EXPECT_NE(bridge_->log().find("write failed, serving from memory"), std::string::npos);
}

TEST_F(Durability, ASecondBridgeOnTheSameDataDirectoryRefusesToStart) {
  start_bridge();
  EXPECT_THROW(bridge_process(*broker_, "durability-second", {"--data-dir", data_dir_->path().string()}),
               std::runtime_error);
}

}  // namespace
}  // namespace progress::bridge
