// The ingest against the project's real broker configuration.
#include "mqtt_ingest.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "asio.hpp"
#include "mosquitto_broker.hpp"
#include "mqtt_test_client.hpp"
#include "prometheus_scrape.hpp"
#include "wait_until.hpp"

namespace progress::bridge {
namespace {

using namespace std::chrono_literals;
using test::metric_total;
using test::mosquitto_broker;
using test::mqtt_test_client;
using test::wait_until;

std::string job_json(const std::string& status, int seq, double progress = 0) {
  return nlohmann::json{{"status", status}, {"seq", seq}, {"progress", progress}}.dump();
}

class MqttIngest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { broker_ = std::make_unique<mosquitto_broker>(); }
  static void TearDownTestSuite() { broker_.reset(); }

  void SetUp() override {
    worker_ = std::make_unique<mqtt_test_client>(broker_->url(), "worker-" + test_name());
    ASSERT_EQ(worker_->connect("worker", mosquitto_broker::password("worker")), 0) << broker_->log();
  }

  void TearDown() override {
    if (ingest_) ingest_->stop();
    ingest_.reset();
    work_.reset();
    if (io_thread_.joinable()) io_thread_.join();
  }

  static std::string test_name() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }

  void start_ingest(const std::function<void(ingest_options&)>& adjust = {}) {
    ingest_options options;
    options.url = broker_->url();
    options.username = "bridge";
    options.password = mosquitto_broker::password("bridge");
    options.client_id = "bridge-" + test_name();
    options.min_reconnect_delay = 1s;
    options.max_reconnect_delay = 2s;
    if (adjust) adjust(options);
    ingest_ =
        std::make_shared<mqtt_ingest>(ioc_, options, store_, metrics_, [this](const apply_result& result) {
          {
            std::lock_guard lock{mutex_};
            changes_.push_back(result);
          }
          if (on_change_) on_change_(result);
        });
    ingest_->start();
    io_thread_ = std::thread{[this] { ioc_.run(); }};
  }

  std::vector<apply_result> changes() const {
    std::lock_guard lock{mutex_};
    return changes_;
  }

  int publish(const std::string& user, const std::string& job, const std::string& payload,
              bool retained = true) {
    return worker_->publish(job_topic(user, job), payload, retained);
  }

  static std::unique_ptr<mosquitto_broker> broker_;
  std::unique_ptr<mqtt_test_client> worker_;
  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      ioc_.get_executor()};
  job_store store_;
  metrics metrics_;
  std::shared_ptr<mqtt_ingest> ingest_;
  std::thread io_thread_;
  mutable std::mutex mutex_;
  std::vector<apply_result> changes_;
  std::function<void(const apply_result&)> on_change_;  // runs on the ingest's strand
};

std::unique_ptr<mosquitto_broker> MqttIngest::broker_;

TEST_F(MqttIngest, RetainedStatesAreLoadedWhenReady) {
  constexpr int jobs = 300;
  for (int i = 0; i < jobs; ++i) {
    ASSERT_EQ(publish("loader" + std::to_string(i % 7), "job" + std::to_string(i),
                      job_json("in_progress", 1, i % 100)),
              0);
  }
  start_ingest();
  ASSERT_TRUE(wait_until([&] { return ingest_->ready(); })) << broker_->log();
  EXPECT_TRUE(ingest_->connected());
  // Ready means loaded: nothing is still on its way.
  std::size_t loaded = 0;
  for (int i = 0; i < jobs; ++i) {
    const auto job = store_.find(job_key{"loader" + std::to_string(i % 7), "job" + std::to_string(i)});
    if (job) {
      ++loaded;
      EXPECT_EQ(job->facts.progress, i % 100);
    }
  }
  EXPECT_EQ(loaded, static_cast<std::size_t>(jobs));
  EXPECT_EQ(metric_total(metrics_.scrape(), "progress_bridge_mqtt_connected"), 1);
}

// The sync timeout is a silence, not a deadline: a replay that takes longer
// than it (here a bridge slowed to 0.3 ms per job, in batches of up to the
// receive maximum) is not declared loaded halfway.
TEST_F(MqttIngest, ALongReplayIsNotCutShortBySyncTimeout) {
  constexpr int jobs = 3000;  // over three users: a user holds 1000 running jobs at most
  const auto key = [](int i) {
    return job_key{"slow-replay-" + std::to_string(i % 3), "job" + std::to_string(i)};
  };
  for (int i = 0; i < jobs; ++i)
    ASSERT_EQ(publish(key(i).user_id, key(i).job_id, job_json("in_progress", 1)), 0);
  on_change_ = [](const apply_result&) { std::this_thread::sleep_for(300us); };
  start_ingest([](ingest_options& options) { options.sync_timeout = 200ms; });

  ASSERT_TRUE(wait_until([&] { return ingest_->ready(); }, 20s));
  int held = 0;
  for (int i = 0; i < jobs; ++i) held += store_.find(key(i)) ? 1 : 0;
  EXPECT_EQ(held, jobs);
  for (int i = 0; i < jobs; ++i) ASSERT_EQ(publish(key(i).user_id, key(i).job_id, ""), 0);
}

TEST_F(MqttIngest, MalformedMessagesAreRejectedAndCounted) {
  start_ingest();
  ASSERT_TRUE(wait_until([&] { return ingest_->ready(); }));
  ASSERT_EQ(publish("mallory", "good", job_json("in_progress", 1, 10)), 0);
  ASSERT_TRUE(wait_until([&] { return store_.find(job_key{"mallory", "good"}) != nullptr; }));

  const std::vector<std::string> bad_payloads = {
      "{not json",
      "[1,2,3]",
      R"({"status":"in_progress","progress":"ten"})",
      R"({"status":"exploded"})",
      R"({"status":"in_progress","progress":1000})",
      std::string{"{\"status\":\"queued\",\"message\":\"\xff\xfe\"}"},
      R"({"status":"queued","userId":"someone-else"})",
      std::string(70000, 'x'),
  };
  constexpr int malformed = 1000;
  for (int i = 0; i < malformed; ++i) {
    if (i % 10 == 9) {
      // A topic the protocol refuses, though the broker's filter matches it.
      ASSERT_EQ(worker_->publish("users/mal lory/jobs/good", job_json("failed", 99), false), 0);
    } else {
      ASSERT_EQ(
          publish("mallory", "good", bad_payloads[static_cast<std::size_t>(i) % bad_payloads.size()], false),
          0);
    }
  }
  ASSERT_EQ(publish("mallory", "other", job_json("queued", 1)), 0);
  ASSERT_TRUE(wait_until([&] {
    return metric_total(metrics_.scrape(), "progress_bridge_mqtt_messages_rejected_total") >= malformed;
  }));
  ASSERT_TRUE(wait_until([&] { return store_.find(job_key{"mallory", "other"}) != nullptr; }));

  const auto scrape = metrics_.scrape();
  EXPECT_EQ(metric_total(scrape, "progress_bridge_mqtt_messages_rejected_total"), malformed);
  EXPECT_EQ(metric_total(scrape, "progress_bridge_mqtt_messages_rejected_total{reason=\"bad_topic\"}"), 100);
  EXPECT_GT(metric_total(scrape, "progress_bridge_mqtt_messages_rejected_total{reason=\"invalid_json\"}"), 0);
  EXPECT_GT(metric_total(scrape, "progress_bridge_mqtt_messages_rejected_total{reason=\"id_mismatch\"}"), 0);

  const auto good = store_.find(job_key{"mallory", "good"});
  ASSERT_TRUE(good);
  EXPECT_EQ(good->facts.status, job_status::in_progress);
  EXPECT_EQ(good->facts.progress, 10);
  EXPECT_EQ(store_.history(job_key{"mallory", "good"})->size(), 1u);
  EXPECT_TRUE(ingest_->ready());
}

TEST_F(MqttIngest, EmptyRetainedPayloadRemovesTheJob) {
  start_ingest();
  ASSERT_TRUE(wait_until([&] { return ingest_->ready(); }));
  const job_key key{"dora", "temp"};
  ASSERT_EQ(publish(key.user_id, key.job_id, job_json("completed", 3, 100)), 0);
  ASSERT_TRUE(wait_until([&] { return store_.find(key) != nullptr; }));
  ASSERT_EQ(publish(key.user_id, key.job_id, ""), 0);
  ASSERT_TRUE(wait_until([&] { return store_.find(key) == nullptr; }));

  // The listener hears of a change right after the store has it: wait for it too.
  ASSERT_TRUE(wait_until([&] { return changes().size() >= 2u; }));
  const auto seen = changes();
  EXPECT_EQ(seen.back().outcome, apply_outcome::removed);
  EXPECT_EQ(seen.back().key, key);
  const auto feed = store_.changes_since(0, key.user_id);
  ASSERT_TRUE(feed.covered);
  ASSERT_FALSE(feed.changes.empty());
  EXPECT_FALSE(feed.changes.back().job);
}

// A job removed while the bridge was away is absent from the replay; the
// sweep after the sync marker removes it, and it tells the listener. The
// broker's state marker proves the job was removed: it covers the job's last
// change (without it the bridge could not tell a removal from a broker that
// lost the job, and would publish the job again). A job whose retained state
// turned unreadable meanwhile was in the replay all the same: it stays.
TEST_F(MqttIngest, JobRemovedWhileDisconnectedIsRemovedAfterReconnect) {
  start_ingest([](ingest_options& options) { options.min_reconnect_delay = 3s; });
  ASSERT_TRUE(wait_until([&] { return ingest_->ready(); }));
  const job_key gone{"fred", "gone"};
  const job_key kept{"fred", "kept"};
  const job_key garbled{"fred", "garbled"};
  ASSERT_EQ(publish(gone.user_id, gone.job_id, job_json("in_progress", 1, 10)), 0);
  ASSERT_EQ(publish(kept.user_id, kept.job_id, job_json("in_progress", 1, 20)), 0);
  ASSERT_EQ(publish(garbled.user_id, garbled.job_id, job_json("in_progress", 1, 30)), 0);
  ASSERT_TRUE(wait_until([&] { return store_.find(gone) && store_.find(kept) && store_.find(garbled); }));
  ASSERT_TRUE(wait_until([&] { return ingest_->unmarked_changes() == 0; }));

  worker_->disconnect();
  broker_->stop();
  ASSERT_TRUE(wait_until([&] { return !ingest_->connected(); }));
  broker_->start();
  // Removed while the bridge waits to reconnect (at least 3 s).
  worker_ = std::make_unique<mqtt_test_client>(broker_->url(), "worker-remover");
  ASSERT_EQ(worker_->connect("worker", mosquitto_broker::password("worker")), 0) << broker_->log();
  ASSERT_EQ(publish(gone.user_id, gone.job_id, ""), 0);
  ASSERT_EQ(publish(garbled.user_id, garbled.job_id, "{not json"), 0);
  ASSERT_FALSE(ingest_->connected()) << "the bridge reconnected too early for this test";

  ASSERT_TRUE(wait_until([&] { return ingest_->ready(); }, 30s)) << broker_->log();
  ASSERT_TRUE(wait_until([&] { return store_.find(gone) == nullptr; }));
  ASSERT_TRUE(store_.find(kept));
  ASSERT_TRUE(store_.find(garbled));
  EXPECT_EQ(store_.find(garbled)->facts.seq, 1);
  ASSERT_TRUE(wait_until([&] {
    const auto seen = changes();
    return !seen.empty() && seen.back().key == gone && seen.back().outcome == apply_outcome::removed;
  }));
}

TEST_F(MqttIngest, ReconnectsAfterABrokerRestartAndCatchesUp) {
  start_ingest();
  ASSERT_TRUE(wait_until([&] { return ingest_->ready(); }));
  const job_key key{"erin", "long"};
  ASSERT_EQ(publish(key.user_id, key.job_id, job_json("in_progress", 1, 10)), 0);
  ASSERT_TRUE(wait_until([&] { return store_.find(key) != nullptr; }));

  worker_->disconnect();
  broker_->stop();
  ASSERT_TRUE(wait_until([&] { return !ingest_->connected(); }));
  EXPECT_FALSE(ingest_->ready());
  broker_->start();

  // Published while the bridge is still waiting to reconnect.
  worker_ = std::make_unique<mqtt_test_client>(broker_->url(), "worker-after-restart");
  ASSERT_EQ(worker_->connect("worker", mosquitto_broker::password("worker")), 0) << broker_->log();
  ASSERT_EQ(publish(key.user_id, key.job_id, job_json("in_progress", 2, 60)), 0);

  ASSERT_TRUE(wait_until([&] { return ingest_->ready(); }, 30s)) << broker_->log();
  ASSERT_TRUE(wait_until([&] {
    const auto job = store_.find(key);
    return job && job->facts.seq == 2;
  }));
  EXPECT_EQ(store_.find(key)->facts.progress, 60);
  EXPECT_GE(metric_total(metrics_.scrape(), "progress_bridge_mqtt_reconnects_total"), 1);

  // Live updates flow again.
  ASSERT_EQ(publish(key.user_id, key.job_id, job_json("completed", 3, 100)), 0);
  ASSERT_TRUE(wait_until([&] { return store_.find(key)->facts.status == job_status::completed; }));
}

TEST_F(MqttIngest, KeepsTryingUntilTheBrokerIsUp) {
  const job_key key{"frank", "early"};
  ASSERT_EQ(publish(key.user_id, key.job_id, job_json("queued", 1)), 0);
  worker_->disconnect();
  broker_->stop();
  start_ingest();
  EXPECT_FALSE(ingest_->connected());
  EXPECT_FALSE(ingest_->ready());
  broker_->start();
  ASSERT_TRUE(wait_until([&] { return ingest_->ready(); }, 30s)) << broker_->log();
  EXPECT_TRUE(store_.find(key));
  EXPECT_EQ(metric_total(metrics_.scrape(), "progress_bridge_mqtt_reconnects_total"), 0);
}

TEST_F(MqttIngest, AStoppedBrokerIsNoticedWithinOneAndAHalfKeepalivesAndCaughtUpAfter) {
  start_ingest([](ingest_options& options) { options.keepalive = 2s; });
  ASSERT_TRUE(wait_until([&] { return ingest_->ready(); }));
  const job_key key{"gina", "frozen"};
  ASSERT_EQ(publish(key.user_id, key.job_id, job_json("in_progress", 1, 10)), 0);
  ASSERT_TRUE(wait_until([&] { return store_.find(key) != nullptr; }));

  broker_->pause();
  const auto paused = std::chrono::steady_clock::now();
  const bool noticed = wait_until([&] { return !ingest_->ready(); }, 10s);
  const auto after = std::chrono::steady_clock::now() - paused;
  broker_->resume();
  ASSERT_TRUE(noticed) << "the ingest still reports ready 10 s after the broker froze";
  EXPECT_EQ(metric_total(metrics_.scrape(), "progress_bridge_mqtt_connected"), 0);
  // 1.5 keepalives (3 s) plus the check interval; generous for a loaded machine.
  EXPECT_LT(after, 6s);

  ASSERT_TRUE(wait_until([&] { return ingest_->ready(); }, 30s)) << broker_->log();
  ASSERT_EQ(publish(key.user_id, key.job_id, job_json("completed", 2, 100)), 0);
  ASSERT_TRUE(wait_until([&] { return store_.find(key)->facts.status == job_status::completed; }));
}

// A broker of its own: the retained states other tests left would be part of the replay.
class MqttIngestBacklog : public MqttIngest {
 protected:
  static void SetUpTestSuite() { broker_ = std::make_unique<mosquitto_broker>(); }
};

// A bridge that falls behind stops reading: the broker keeps what it has not
// taken, and once the bridge catches up every message is applied, in order,
// with nothing dropped and no replay needed.
TEST_F(MqttIngestBacklog, ABridgeThatFallsBehindLosesNothingAndCatchesUp) {
  std::latch release{1};
  std::atomic<bool> held{false};
  on_change_ = [&](const apply_result&) {
    if (!held.exchange(true)) release.wait();  // hold the strand inside the first change
  };
  start_ingest([](ingest_options& options) { options.receive_maximum = 50; });
  ASSERT_TRUE(wait_until([&] { return ingest_->ready(); }));

  constexpr int jobs = 100;
  constexpr int updates = 20;  // 2,000 messages, forty times the bridge's window
  for (int seq = 1; seq <= updates; ++seq) {
    for (int j = 0; j < jobs; ++j) {
      ASSERT_EQ(publish("erin", "backlog" + std::to_string(j), job_json("in_progress", seq, seq)), 0);
    }
  }
  ASSERT_TRUE(wait_until([&] { return held.load(); }));
  release.count_down();

  ASSERT_TRUE(wait_until(
      [&] {
        for (int j = 0; j < jobs; ++j) {
          const auto job = store_.find(job_key{"erin", "backlog" + std::to_string(j)});
          if (!job || job->facts.seq != updates) return false;
        }
        return true;
      },
      30s));
  // Every update was applied, none skipped: each job's history holds all of them.
  const auto history = store_.history(job_key{"erin", "backlog0"});
  ASSERT_TRUE(history);
  EXPECT_EQ(history->size(), static_cast<std::size_t>(updates));
  const auto scrape = metrics_.scrape();
  EXPECT_EQ(metric_total(scrape, "progress_bridge_mqtt_messages_accepted_total"), jobs * updates);
  EXPECT_EQ(scrape.find("overloaded"), std::string::npos);
  EXPECT_TRUE(ingest_->ready());
}

// The broker is killed (SIGKILL) before it saved what it acknowledged
// (autosave_interval is 60 s in broker-config): the bridge gives it back.
class MqttIngestBrokerCrash : public MqttIngest {
 protected:
  static void SetUpTestSuite() { broker_ = std::make_unique<mosquitto_broker>(); }

  // The broker acknowledged a state marker covering every change so far: only
  // then can the bridge tell a change the broker lost from a removed job
  // (docs/protocol.md, "State markers"; markers go out at most every 200 ms).
  void wait_until_marked() {
    ASSERT_TRUE(wait_until([&] { return ingest_->unmarked_changes() == 0; }))
        << "no state marker acknowledged";
  }

  // Kills the broker, starts it from its last save, and waits for the bridge to be back.
  void crash_broker() {
    wait_until_marked();
    worker_->disconnect();
    broker_->kill_hard();
    ASSERT_TRUE(wait_until([&] { return !ingest_->connected(); }, 30s));
    broker_->start();
    ASSERT_TRUE(wait_until([&] { return ingest_->ready(); }, 30s)) << broker_->log();
    worker_ = std::make_unique<mqtt_test_client>(broker_->url(), "worker-after-crash-" + test_name());
    ASSERT_EQ(worker_->connect("worker", mosquitto_broker::password("worker")), 0) << broker_->log();
  }

  // Restarts the broker cleanly (it saves everything) and waits for the bridge to be back.
  void restart_broker() {
    wait_until_marked();
    worker_->disconnect();
    broker_->stop();
    ASSERT_TRUE(wait_until([&] { return !ingest_->connected(); }, 30s));
    broker_->start();
    ASSERT_TRUE(wait_until([&] { return ingest_->ready(); }, 30s)) << broker_->log();
    worker_ = std::make_unique<mqtt_test_client>(broker_->url(), "worker-after-restart-" + test_name());
    ASSERT_EQ(worker_->connect("worker", mosquitto_broker::password("worker")), 0) << broker_->log();
  }

  // What a user subscribing now receives of `jobs`, once `sentinel` (retained, published now) arrived.
  std::map<std::string, std::string> retained_for(const std::string& user, const std::string& sentinel) {
    EXPECT_EQ(publish(user, sentinel, job_json("queued", 1)), 0);
    mqtt_test_client reader{broker_->url(), "reader-" + test_name()};
    EXPECT_EQ(reader.connect(user, mosquitto_broker::password(user)), 0);
    EXPECT_LT(reader.subscribe("users/" + user + "/jobs/+"), 0x80);
    EXPECT_TRUE(reader.wait_for(job_topic(user, sentinel)));
    std::map<std::string, std::string> seen;
    for (const auto& message : reader.messages()) {
      if (message.retained) seen[message.topic] = message.payload;
    }
    return seen;
  }

  static double republished(metrics& m, const std::string& what) {
    return test::metric_with_label(m.scrape(), "progress_bridge_republished_total", "what=\"" + what + "\"");
  }
};

TEST_F(MqttIngestBrokerCrash, AStateTheBrokerAcknowledgedAndLostIsPublishedAgain) {
  start_ingest([](ingest_options& options) { options.min_reconnect_delay = 1s; });
  ASSERT_TRUE(wait_until([&] { return ingest_->ready(); }));
  const job_key done{"alice", "finished-report"};
  ASSERT_EQ(publish(done.user_id, done.job_id, job_json("completed", 5, 100)),
            0);  // acknowledged to the worker
  ASSERT_TRUE(wait_until([&] { return store_.find(done) != nullptr; }));

  crash_broker();
  const auto held = store_.find(done);
  ASSERT_TRUE(held) << "the bridge let go of a state the broker acknowledged";
  EXPECT_EQ(held->facts.status, job_status::completed);
  ASSERT_TRUE(wait_until([&] { return republished(metrics_, "state") >= 1; }));
  // A user who subscribes now gets it from the broker again.
  const auto seen = retained_for("alice", "sentinel-1");
  ASSERT_TRUE(seen.contains(job_topic(done)));
  const auto state = nlohmann::json::parse(seen.at(job_topic(done)));
  EXPECT_EQ(state["status"], "completed");
  EXPECT_EQ(state["seq"], 5);
}

TEST_F(MqttIngestBrokerCrash, AnOlderStateTheBrokerFellBackToIsReplacedByTheBridges) {
  start_ingest([](ingest_options& options) { options.min_reconnect_delay = 1s; });
  ASSERT_TRUE(wait_until([&] { return ingest_->ready(); }));
  const job_key job{"alice", "older-in-broker"};
  ASSERT_EQ(publish(job.user_id, job.job_id, job_json("in_progress", 1, 10)), 0);
  ASSERT_TRUE(wait_until([&] { return store_.find(job) != nullptr; }));
  restart_broker();  // saved: seq 1
  ASSERT_EQ(publish(job.user_id, job.job_id, job_json("completed", 2, 100)), 0);
  ASSERT_TRUE(wait_until([&] { return store_.find(job)->facts.seq == 2; }));

  crash_broker();  // back to seq 1
  ASSERT_TRUE(store_.find(job));
  EXPECT_EQ(store_.find(job)->facts.seq, 2);
  ASSERT_TRUE(wait_until([&] { return republished(metrics_, "state") >= 1; }));
  const auto seen = retained_for("alice", "sentinel-2");
  ASSERT_TRUE(seen.contains(job_topic(job)));
  EXPECT_EQ(nlohmann::json::parse(seen.at(job_topic(job)))["seq"], 2);
}

TEST_F(MqttIngestBrokerCrash, ARemovalTheBrokerLostIsPublishedAgain) {
  start_ingest([](ingest_options& options) { options.min_reconnect_delay = 1s; });
  ASSERT_TRUE(wait_until([&] { return ingest_->ready(); }));
  const job_key job{"alice", "removed-then-lost"};
  ASSERT_EQ(publish(job.user_id, job.job_id, job_json("completed", 3, 100)), 0);
  ASSERT_TRUE(wait_until([&] { return store_.find(job) != nullptr; }));
  restart_broker();  // saved: the job
  ASSERT_EQ(publish(job.user_id, job.job_id, ""), 0);
  ASSERT_TRUE(wait_until([&] { return store_.find(job) == nullptr; }));

  crash_broker();  // the broker brings the job back
  ASSERT_TRUE(wait_until([&] { return republished(metrics_, "removal") >= 1; }));
  EXPECT_FALSE(store_.find(job)) << "the bridge did not take the removed job back";
  EXPECT_FALSE(retained_for("alice", "sentinel-3").contains(job_topic(job)));
}

}  // namespace
}  // namespace progress::bridge
