// The publisher SDK, its CLI and the demo worker against a real Mosquitto
// running the project's broker-config.
#include "progress/publisher/publisher.hpp"

#include <signal.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "mosquitto_broker.hpp"
#include "mqtt_test_client.hpp"
#include "progress/protocol/validation.hpp"
#include "temp_dir.hpp"

namespace progress::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr int not_authorized = 0x87;

class publisher_integration : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { broker_ = std::make_unique<mosquitto_broker>(); }
  static void TearDownTestSuite() { broker_.reset(); }

  static publisher_options options_for(const std::string& account, const std::string& worker_id) {
    publisher_options options;
    options.url = broker_->url();
    options.username = account;
    options.password = mosquitto_broker::password(account);
    options.worker_id = worker_id;
    options.connect_timeout = 10s;
    return options;
  }

  // A plain Paho client (not the SDK) of `account`, subscribed to `filter`.
  static std::unique_ptr<mqtt_test_client> reader(const std::string& account, const std::string& client_id,
                                                  const std::string& filter) {
    auto client = std::make_unique<mqtt_test_client>(broker_->url(), client_id);
    EXPECT_EQ(client->connect(account, mosquitto_broker::password(account)), 0) << broker_->log();
    EXPECT_LT(client->subscribe(filter), 0x80) << filter;
    return client;
  }

  // Waits until `client` has a message on `topic` for which `accepted` holds.
  template <typename Accepted>
  static std::optional<received_message> wait_for_message(mqtt_test_client& client, const std::string& topic,
                                                          Accepted accepted,
                                                          std::chrono::milliseconds timeout = 15s) {
    std::optional<received_message> found;
    wait_until(
        [&] {
          for (const auto& message : client.messages()) {
            if (message.topic == topic && accepted(message)) found = message;
          }
          return found.has_value();
        },
        timeout);
    return found;
  }

  // Removed when the test program exits.
  static const std::filesystem::path& temp_dir() {
    static const test::temp_dir dir{"progress-publisher-it"};
    return dir.path();
  }

  static std::vector<std::string> cli_connection(const std::string& account) {
    return {PROGRESS_PUBLISH_PATH,
            "--url",
            broker_->url(),
            "--username",
            account,
            "--password",
            mosquitto_broker::password(account),
            "--timeout",
            "15"};
  }

  static std::unique_ptr<mosquitto_broker> broker_;
};

std::unique_ptr<mosquitto_broker> publisher_integration::broker_;

TEST_F(publisher_integration, RetainedStateIsWhatAPlainClientReadsAfterTheWorkerLeft) {
  job_state last;
  {
    publisher pub(options_for("worker", "it-retained"));
    auto job = pub.job("alice", "retained-1", {.type = "import", .attempt = 1, .first_seq = 1});
    job.start("Starting");
    job.phase(1, 2, "Download");
    job.progress(30, "A third");
    job.phase(2, 2, "Import");
    job.complete({{"rows", 1200}}).wait();
    last = job.state();
    pub.close();
  }

  auto alice = reader("alice", "alice-retained-reader", "users/alice/jobs/+");
  const auto received = alice->wait_for("users/alice/jobs/retained-1", 10s);
  ASSERT_TRUE(received) << broker_->log();
  EXPECT_TRUE(received->retained);
  EXPECT_EQ(json::parse(received->payload), json(last));
  const auto parsed = parse_update(job_key{"alice", "retained-1"}, received->payload);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed.state->status, job_status::completed);
  EXPECT_EQ(parsed.state->details, (json{{"rows", 1200}}));
  EXPECT_EQ(parsed.state->worker_id, "it-retained");
}

TEST_F(publisher_integration, OnlyTheWorkerAccountMayPublishJobStates) {
  {
    publisher as_alice(options_for("alice", "alice-worker"));
    auto job = as_alice.job("alice", "forbidden-1");
    const auto outcome = job.start("Should not pass");
    ASSERT_TRUE(outcome.wait_for(15s));
    try {
      outcome.wait();
      ADD_FAILURE() << "the broker accepted a job state from alice";
    } catch (const publish_error& e) {
      EXPECT_EQ(e.code(), publish_errc::rejected);
      EXPECT_EQ(e.reason_code(), not_authorized);
      EXPECT_NE(std::string(e.what()).find("Not authorized"), std::string::npos) << e.what();
    }
  }

  publisher as_worker(options_for("worker", "it-allowed"));
  auto job = as_worker.job("alice", "forbidden-1");
  const auto outcome = job.start("Allowed");
  ASSERT_TRUE(outcome.wait_for(15s));
  EXPECT_NO_THROW(outcome.wait());
}

TEST_F(publisher_integration, CleanCloseAnnouncesOfflineAndConnectAnnouncesOnline) {
  auto bridge = reader("bridge", "bridge-presence", "workers/+/status");
  const std::string topic = "workers/it-presence/status";
  auto status_is = [](const char* status) {
    return
        [status](const received_message& m) { return json::parse(m.payload).value("status", "") == status; };
  };
  publisher pub(options_for("worker", "it-presence"));
  const auto online = wait_for_message(*bridge, topic, status_is("online"));
  ASSERT_TRUE(online) << broker_->log();
  EXPECT_EQ(json::parse(online->payload).at("workerId"), "it-presence");
  pub.close();
  EXPECT_TRUE(wait_for_message(*bridge, topic, status_is("offline")));
}

TEST_F(publisher_integration, LastWillMarksAKilledWorkerOffline) {
  auto bridge = reader("bridge", "bridge-will", "workers/+/status");
  const std::string topic = "workers/doomed-worker/status";
  child_process worker({PROGRESS_DEMO_WORKER_PATH, "--url", broker_->url(), "--username", "worker",
                        "--worker-id", "doomed-worker", "--speed", "0.5"},
                       temp_dir() / "doomed-worker.log",
                       {"PROGRESS_MQTT_PASSWORD=" + mosquitto_broker::password("worker")});
  auto status_is = [](const char* status) {
    return
        [status](const received_message& m) { return json::parse(m.payload).value("status", "") == status; };
  };
  ASSERT_TRUE(wait_for_message(*bridge, topic, status_is("online"))) << worker.log();
  // The demo is mid-job: its first updates reached the broker.
  auto alice = reader("alice", "alice-will", "users/alice/jobs/+");
  ASSERT_TRUE(alice->wait_for_count(1, 15s)) << worker.log();

  worker.kill_hard();
  const auto offline = wait_for_message(*bridge, topic, status_is("offline"));
  ASSERT_TRUE(offline) << broker_->log();
  EXPECT_EQ(json::parse(offline->payload).at("workerId"), "doomed-worker");

  // A consumer arriving later finds the retained offline status.
  auto late = reader("bridge", "bridge-will-late", topic);
  const auto retained = late->wait_for(topic, 10s);
  ASSERT_TRUE(retained);
  EXPECT_TRUE(retained->retained);
  EXPECT_EQ(json::parse(retained->payload).at("status"), "offline");
}

TEST_F(publisher_integration, UpdatesMadeWhileTheBrokerIsDownArriveAfterReconnect) {
  publisher pub(options_for("worker", "it-buffering"));
  auto job = pub.job("alice", "buffered-1");
  job.start().wait();
  broker_->stop();
  const auto outcome = job.complete({{"buffered", true}});
  broker_->start();
  ASSERT_TRUE(outcome.wait_for(60s)) << broker_->log();
  EXPECT_NO_THROW(outcome.wait());

  auto alice = reader("alice", "alice-buffering", "users/alice/jobs/buffered-1");
  const auto received = alice->wait_for("users/alice/jobs/buffered-1", 10s);
  ASSERT_TRUE(received);
  EXPECT_EQ(json::parse(received->payload).at("status"), "completed");
}

TEST_F(publisher_integration, CliPublishesOneUpdateThatAliceReads) {
  auto args = cli_connection("worker");
  for (const char* arg :
       {"--user", "alice", "--job", "cli-1", "--status", "in_progress", "--progress", "40", "--phase", "2",
        "--total-phases", "5", "--phase-title", "Upload", "--message", "12 of 30 files"}) {
    args.emplace_back(arg);
  }
  child_process cli(args, temp_dir() / "cli-one.log");
  ASSERT_EQ(cli.wait_exit(30s), 0) << cli.log();

  auto alice = reader("alice", "alice-cli-one", "users/alice/jobs/cli-1");
  const auto received = alice->wait_for("users/alice/jobs/cli-1", 10s);
  ASSERT_TRUE(received);
  const auto parsed = parse_update(job_key{"alice", "cli-1"}, received->payload);
  ASSERT_TRUE(parsed) << received->payload;
  EXPECT_EQ(parsed.state->status, job_status::in_progress);
  EXPECT_EQ(parsed.state->progress, 40.0);
  EXPECT_EQ(parsed.state->phase, 2);
  EXPECT_EQ(parsed.state->total_phases, 5);
  EXPECT_EQ(parsed.state->message, "12 of 30 files");
}

TEST_F(publisher_integration, CliReportsBrokerRefusalAndInvalidUpdates) {
  auto as_alice = cli_connection("alice");
  for (const char* arg : {"--user", "alice", "--job", "cli-denied", "--status", "started"})
    as_alice.emplace_back(arg);
  child_process denied(as_alice, temp_dir() / "cli-denied.log");
  EXPECT_EQ(denied.wait_exit(30s), 1);
  EXPECT_NE(denied.log().find("Not authorized"), std::string::npos) << denied.log();

  auto invalid = cli_connection("worker");
  for (const char* arg :
       {"--user", "alice", "--job", "cli-invalid", "--status", "in_progress", "--progress", "140"}) {
    invalid.emplace_back(arg);
  }
  child_process refused(invalid, temp_dir() / "cli-invalid.log");
  EXPECT_EQ(refused.wait_exit(30s), 2);
  EXPECT_NE(refused.log().find("progress"), std::string::npos) << refused.log();
}

// Runs the CLI with `args` after the program name; returns its exit code and output.
std::pair<int, std::string> run_cli(const std::vector<std::string>& args, const std::filesystem::path& log) {
  std::vector<std::string> argv{PROGRESS_PUBLISH_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  child_process cli(argv, log);
  const int code = cli.wait_exit(30s);
  return {code, cli.log()};
}

TEST_F(publisher_integration, CliRefusesAUrlThatIsNotABrokersWithAUsageError) {
  const auto [code, output] = run_cli({"--url", "http://127.0.0.1:" + std::to_string(free_loopback_port()),
                                       "--user", "alice", "--job", "cli-http", "--status", "started"},
                                      temp_dir() / "cli-http.log");
  EXPECT_EQ(code, 2) << output;
  EXPECT_NE(output.find("progress-publish: url: cannot use broker URL http://"), std::string::npos) << output;
  EXPECT_EQ(output.find("terminate"), std::string::npos) << output;
}

TEST_F(publisher_integration, CliNamesARefusedLoginInWordsAndExitsWith3) {
  const auto [code, output] =
      run_cli({"--url", broker_->url(), "--username", "worker", "--password", "not-the-password", "--user",
               "alice", "--job", "cli-login", "--status", "started"},
              temp_dir() / "cli-login.log");
  EXPECT_EQ(code, 3) << output;
  EXPECT_NE(output.find("cannot connect to " + broker_->url()), std::string::npos) << output;
  EXPECT_NE(output.find(": check --username/--password"), std::string::npos) << output;
  const bool named = output.find("not authorized: check") != std::string::npos ||
                     output.find("bad user name or password: check") != std::string::npos;
  EXPECT_TRUE(named) << output;
  EXPECT_EQ(output.find("not-the-password"), std::string::npos) << output;
}

TEST_F(publisher_integration, CliSaysNothingListensAndExitsWith3) {
  const auto [code, output] =
      run_cli({"--url", "tcp://127.0.0.1:" + std::to_string(free_loopback_port()), "--timeout", "3", "--user",
               "alice", "--job", "cli-nobody", "--status", "started"},
              temp_dir() / "cli-nobody.log");
  EXPECT_EQ(code, 3) << output;
  EXPECT_NE(output.find("is the broker running there? check --url"), std::string::npos) << output;
}

TEST_F(publisher_integration, CliParseErrorsExitWith2) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--user", "alice", "--job", "j", "--status", "started", "--bogus"},
           {"--user", "alice", "--job", "j", "--status", "started", "--timeout", "soon"},
           {"--user", "alice", "--job", "j", "--status", "started", "--progress"},
           {"--user", "alice", "--job", "j", "--remove", "--stdin"},
           {"--job", "j", "--status", "started"}}) {
    const auto [code, output] = run_cli(args, temp_dir() / "cli-usage.log");
    EXPECT_EQ(code, 2) << args.back() << ": " << output;
    EXPECT_NE(output.find("progress-publish: "), std::string::npos) << output;
  }
  const auto [help, text] = run_cli({"--help"}, temp_dir() / "cli-help.log");
  EXPECT_EQ(help, 0);
  EXPECT_NE(text.find("3 when the broker could not be reached"), std::string::npos) << text;
}

// A mistyped flag turns the password after it into an unexpected argument,
// which CLI11 on its own would print.
TEST_F(publisher_integration, CliErrorsNeverShowThePassword) {
  const std::string secret = "hunter2-worker-password";
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--pasword", secret, "--user", "alice", "--job", "j", "--status", "started"},
           {"--user", "alice", "--job", "j", "--status", "started", "--pasword=" + secret},
           {"--password", secret, "--timeout", secret, "--user", "alice", "--job", "j", "--status",
            "started"},
           {"--password=" + secret, "--progress", secret, "--user", "alice", "--job", "j", "--status",
            "started"},
           {"--user", "alice", secret, "--job", "j", "--status", "started"}}) {
    const auto [code, output] = run_cli(args, temp_dir() / "cli-secret.log");
    EXPECT_EQ(code, 2) << output;
    EXPECT_EQ(output.find(secret), std::string::npos) << output;
  }
  const auto [code, output] = run_cli({"--pasword", secret}, temp_dir() / "cli-secret.log");
  EXPECT_NE(output.find("unknown option --pasword"), std::string::npos) << output;
}

TEST_F(publisher_integration, CliStdinBatchSkipsBadLinesAndPublishesTheRest) {
  const auto batch = temp_dir() / "batch.jsonl";
  {
    std::ofstream out(batch);
    out << R"({"jobId":"batch-1","status":"started","message":"one"})" << '\n'
        << R"({"jobId":"batch-1","status":"in_progress","progress":150})" << '\n'
        << "not json at all\n"
        << R"({"userId":"alice","jobId":"batch-2","status":"completed","details":{"rows":3}})" << '\n'
        << R"({"jobId":"batch-1","status":"in_progress","progress":60,"message":"two"})" << '\n';
  }
  std::string command;
  for (const auto& arg : cli_connection("worker")) command += "'" + arg + "' ";
  command += "--stdin --user alice < '" + batch.string() + "'";
  child_process cli({"/bin/sh", "-c", command}, temp_dir() / "cli-batch.log");
  EXPECT_EQ(cli.wait_exit(30s), 1) << cli.log();
  const auto log = cli.log();
  EXPECT_NE(log.find("line 2: progress"), std::string::npos) << log;
  EXPECT_NE(log.find("line 3: not a JSON object"), std::string::npos) << log;
  EXPECT_EQ(log.find("line 1:"), std::string::npos) << log;

  auto alice = reader("alice", "alice-cli-batch", "users/alice/jobs/+");
  const auto first = wait_for_message(*alice, "users/alice/jobs/batch-1", [](const received_message& m) {
    return json::parse(m.payload).value("message", "") == "two";
  });
  ASSERT_TRUE(first);
  EXPECT_EQ(json::parse(first->payload).at("progress"), 60.0);
  const auto second = alice->wait_for("users/alice/jobs/batch-2", 10s);
  ASSERT_TRUE(second);
  EXPECT_EQ(json::parse(second->payload).at("details"), (json{{"rows", 3}}));
}

std::string cancel_request_payload(const std::string& request_id, const std::string& by = "alice") {
  return json{
      {"action", "cancel"}, {"requestId", request_id}, {"requestedBy", by}, {"timestamp", 1795000000000}}
      .dump();
}

TEST_F(publisher_integration, CancelRequestsReachTheJobAlsoWhenMadeBeforeTheWorkerStarted) {
  // Asked while no worker ran the job (e.g. before a worker restart): retained.
  auto bridge = reader("bridge", "bridge-cancel", "users/+/jobs/+");
  ASSERT_EQ(bridge->publish("users/alice/jobs/cancel-1/control", cancel_request_payload("before")), 0);

  std::mutex mutex;
  std::vector<cancel_request> seen;
  publisher pub(options_for("worker", "it-cancel"));
  job_options options;
  options.on_cancel = [&](const cancel_request& request) {
    const std::lock_guard lock(mutex);
    seen.push_back(request);
  };
  auto job = pub.job("alice", "cancel-1", options);
  job.start("Running").wait();
  const auto count = [&] {
    const std::lock_guard lock(mutex);
    return seen.size();
  };
  ASSERT_TRUE(wait_until([&] { return count() == 1; }, 15s)) << broker_->log();
  EXPECT_TRUE(job.cancel_requested());

  ASSERT_EQ(bridge->publish("users/alice/jobs/cancel-1/control", cancel_request_payload("live", "ops")), 0);
  ASSERT_TRUE(wait_until([&] { return count() == 2; }, 15s));
  {
    const std::lock_guard lock(mutex);
    EXPECT_EQ(seen[0].request_id, "before");
    EXPECT_EQ(seen[1], (cancel_request{"live", "ops", 1795000000000}));
  }
  job.cancel("Cancelled by ops").wait();
  EXPECT_TRUE(wait_for_message(*bridge, "users/alice/jobs/cancel-1", [](const received_message& m) {
    return json::parse(m.payload).value("status", "") == "cancelled";
  }));
  ASSERT_EQ(bridge->publish("users/alice/jobs/cancel-1/control", ""), 0);  // the bridge clears it
}

TEST_F(publisher_integration, CliStdinReportsACancelRequestOnStdout) {
  const auto stop_file = temp_dir() / "cli-cancel.stop";
  std::string command;
  for (const auto& arg : cli_connection("worker")) command += "'" + arg + "' ";
  // The job's first line, then stdin stays open until the test is done.
  command = R"((echo '{"jobId":"cli-cancel","status":"started"}'; while [ ! -f ')" + stop_file.string() +
            R"(' ]; do sleep 0.05; done) | )" + command + "--stdin --user alice";
  child_process cli({"/bin/sh", "-c", command}, temp_dir() / "cli-cancel.log");

  auto bridge = reader("bridge", "bridge-cli-cancel", "users/alice/jobs/cli-cancel");
  ASSERT_TRUE(bridge->wait_for("users/alice/jobs/cli-cancel", 15s)) << cli.log();
  ASSERT_EQ(bridge->publish("users/alice/jobs/cli-cancel/control", cancel_request_payload("cli-r1")), 0);
  const auto line =
      R"({"event":"cancel_requested","jobId":"cli-cancel","requestId":"cli-r1","requestedBy":"alice","timestamp":1795000000000,"userId":"alice"})";
  EXPECT_TRUE(wait_until([&] { return cli.log().find(line) != std::string::npos; }, 15s)) << cli.log();
  std::ofstream(stop_file).put('\n');
  EXPECT_EQ(cli.wait_exit(30s), 0) << cli.log();
  ASSERT_EQ(bridge->publish("users/alice/jobs/cli-cancel/control", ""), 0);
}

TEST_F(publisher_integration, DemoWorkerStopsAJobAUserCancelled) {
  auto alice = reader("alice", "alice-demo-cancel", "users/alice/jobs/+");
  child_process worker({PROGRESS_DEMO_WORKER_PATH, "--url", broker_->url(), "--username", "worker",
                        "--worker-id", "demo-cancel", "--speed", "0.5", "--rounds", "1"},
                       temp_dir() / "demo-cancel.log",
                       {"PROGRESS_MQTT_PASSWORD=" + mosquitto_broker::password("worker")});
  // The launch job is alice's only job in the demo.
  std::string topic;
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& m : alice->messages()) {
          if (m.topic.find("/jobs/launch-") != std::string::npos && !m.payload.empty()) topic = m.topic;
        }
        return !topic.empty();
      },
      15s))
      << worker.log();
  auto bridge = reader("bridge", "bridge-demo-cancel", topic);
  ASSERT_EQ(bridge->publish(topic + "/control", cancel_request_payload("demo-r1")), 0);
  const auto cancelled = wait_for_message(*alice, topic, [](const received_message& m) {
    return !m.payload.empty() && json::parse(m.payload).value("status", "") == "cancelled";
  });
  ASSERT_TRUE(cancelled) << worker.log();
  EXPECT_EQ(json::parse(cancelled->payload).at("message"), "Cancelled by alice");
  ASSERT_EQ(bridge->publish(topic + "/control", ""), 0);
  EXPECT_EQ(worker.stop(SIGTERM, 30s) >> 8, 0) << worker.log();
}

}  // namespace
}  // namespace progress::test
