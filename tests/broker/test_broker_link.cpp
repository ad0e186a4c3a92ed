// Two real Mosquittos joined by the bridge connection of render-config --peer
// (docs/scaling.md): what crosses the link, in which direction, how often, and
// what the broker-peer account may not do.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "mosquitto_broker.hpp"
#include "mqtt_test_client.hpp"
#include "temp_dir.hpp"

using namespace progress::test;
using namespace std::chrono_literals;

namespace {

constexpr int not_authorized = 0x87;

class broker_link : public ::testing::Test {
 protected:
  // Broker 0 holds the link to broker 1.
  static void SetUpTestSuite() {
    far_ = std::make_unique<mosquitto_broker>();
    near_ = std::make_unique<mosquitto_broker>(far_.get());
  }
  static void TearDownTestSuite() {
    near_.reset();
    far_.reset();
  }

  static mosquitto_broker& broker(int i) { return i == 0 ? *near_ : *far_; }

  static std::unique_ptr<mqtt_test_client> connect_as(int i, const std::string& account,
                                                      const std::string& id) {
    auto client = std::make_unique<mqtt_test_client>(broker(i).url(), id);
    EXPECT_EQ(client->connect(account, mosquitto_broker::password(account)), 0) << broker(i).log();
    return client;
  }

  // The retained message on `topic` a fresh subscriber of broker i gets; nothing when none comes.
  static std::optional<received_message> retained_on(int i, const std::string& topic,
                                                     std::chrono::milliseconds timeout = 1s) {
    static int readers = 0;
    auto reader = connect_as(i, "bridge", "reader-" + std::to_string(++readers));
    if (reader->subscribe(topic) >= 0x80) return std::nullopt;
    return reader->wait_for(topic, timeout);
  }

  // Waits until broker i holds `payload` retained on `topic`.
  static bool holds(int i, const std::string& topic, const std::string& payload) {
    return wait_until(
        [&] {
          const auto message = retained_on(i, topic, 300ms);
          return message && message->retained && message->payload == payload;
        },
        10s);
  }
  // Waits until broker i holds nothing retained on `topic`.
  static bool holds_nothing(int i, const std::string& topic) {
    return wait_until([&] { return !retained_on(i, topic, 300ms); }, 10s);
  }

  static std::unique_ptr<mosquitto_broker> near_;
  static std::unique_ptr<mosquitto_broker> far_;
};

std::unique_ptr<mosquitto_broker> broker_link::near_;
std::unique_ptr<mosquitto_broker> broker_link::far_;

}  // namespace

TEST_F(broker_link, retained_states_and_removals_cross_both_ways) {
  for (const int from : {0, 1}) {
    const int to = 1 - from;
    const auto topic = "users/alice/jobs/from-" + std::to_string(from);
    auto worker = connect_as(from, "worker", "w-cross-" + std::to_string(from));
    ASSERT_EQ(worker->publish(topic, R"({"status":"in_progress","seq":1})"), 0);
    EXPECT_TRUE(holds(to, topic, R"({"status":"in_progress","seq":1})")) << broker(to).log();
    // A removal (an empty retained message) clears it on the other broker too.
    ASSERT_EQ(worker->publish(topic, ""), 0);
    EXPECT_TRUE(holds_nothing(to, topic)) << broker(to).log();
    EXPECT_TRUE(holds_nothing(from, topic));
  }
}

TEST_F(broker_link, each_message_arrives_once_on_each_broker_no_loop) {
  std::unique_ptr<mqtt_test_client> watchers[2];
  for (const int i : {0, 1}) {
    watchers[i] = connect_as(i, "bridge", "watch-once-" + std::to_string(i));
    ASSERT_LT(watchers[i]->subscribe("users/bob/jobs/+"), 0x80);
  }
  auto near_worker = connect_as(0, "worker", "w-once-0");
  auto far_worker = connect_as(1, "worker", "w-once-1");
  ASSERT_EQ(near_worker->publish("users/bob/jobs/a", R"({"status":"queued","seq":1})"), 0);
  ASSERT_EQ(far_worker->publish("users/bob/jobs/b", R"({"status":"queued","seq":1})"), 0);
  ASSERT_EQ(near_worker->publish("users/bob/jobs/a", ""), 0);
  for (const int i : {0, 1}) EXPECT_TRUE(watchers[i]->wait_for_count(3, 10s)) << "watcher " << i;
  // Anything that looped back would arrive within this.
  std::this_thread::sleep_for(1s);
  for (const int i : {0, 1}) {
    const auto messages = watchers[i]->messages();
    EXPECT_EQ(messages.size(), 3u) << "watcher " << i;
    const auto count = [&](const std::string& topic) {
      return std::count_if(messages.begin(), messages.end(),
                           [&](const received_message& m) { return m.topic == topic; });
    };
    EXPECT_EQ(count("users/bob/jobs/a"), 2) << "the state and its removal, once each";
    EXPECT_EQ(count("users/bob/jobs/b"), 1);
  }
}

TEST_F(broker_link, control_requests_worker_statuses_and_state_markers_cross) {
  auto far_worker = connect_as(1, "worker", "w-control");
  ASSERT_LT(far_worker->subscribe("users/+/jobs/+/control"), 0x80);
  auto near_bridge = connect_as(0, "bridge", "bridge-control");
  ASSERT_EQ(near_bridge->publish("users/carol/jobs/long/control", R"({"action":"cancel"})"), 0);
  EXPECT_TRUE(far_worker->wait_for("users/carol/jobs/long/control", 10s));

  ASSERT_EQ(far_worker->publish("workers/w-control/status", R"({"status":"offline"})"), 0);
  EXPECT_TRUE(holds(0, "workers/w-control/status", R"({"status":"offline"})"));
  ASSERT_EQ(near_bridge->publish("bridge/state/replica-a", R"({"marker":1})"), 0);
  EXPECT_TRUE(holds(1, "bridge/state/replica-a", R"({"marker":1})"));
}

TEST_F(broker_link, the_peer_account_may_touch_only_the_linked_topics) {
  auto peer = connect_as(1, "broker-peer", "peer-probe");
  EXPECT_EQ(peer->publish("bridge/sync/someone", "x"), not_authorized);
  EXPECT_EQ(peer->publish("users/alice/other", "x"), not_authorized);
  EXPECT_EQ(peer->publish("elsewhere", "x"), not_authorized);
  EXPECT_EQ(peer->publish("users/alice/jobs/fine", R"({"status":"queued"})"), 0);
}

namespace {

// Runs broker-config/render-config into `dir` with `options`; its exit code.
int render_config(const std::filesystem::path& dir, const std::string& options) {
  const auto script = mosquitto_broker::broker_config_dir() / "render-config";
  const auto command = "'" + script.string() + "' '" + dir.string() + "' " + options + " 2>/dev/null";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST(render_config_peer, refuses_incomplete_or_malformed_peer_options) {
  const temp_dir scratch{"progress-render-peer"};
  const auto& dir = scratch.path();
  const auto password_file = dir / "peer-password";
  std::ofstream(password_file) << "peer-secret\n";
  EXPECT_EQ(render_config(dir, "--peer 127.0.0.1:1883"), 2) << "no password file";
  EXPECT_EQ(render_config(dir, "--peer-password-file '" + password_file.string() + "'"), 2) << "no peer";
  EXPECT_EQ(render_config(dir, "--peer 'a b:1883' --peer-password-file '" + password_file.string() + "'"), 2);
  EXPECT_EQ(render_config(dir, "--peer broker-2 --peer-password-file '" + password_file.string() + "'"), 2)
      << "no port";

  ASSERT_EQ(render_config(dir, "--port 18999 --peer broker-2:1883 --peer-password-file '" +
                                   password_file.string() + "'"),
            0);
  std::ifstream rendered(dir / "mosquitto.conf");
  const std::string config{std::istreambuf_iterator<char>(rendered), {}};
  EXPECT_NE(config.find("address broker-2:1883\nremote_username broker-peer\nremote_password peer-secret\n"),
            std::string::npos)
      << config;
  struct stat info {};
  ASSERT_EQ(::stat((dir / "mosquitto.conf").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u) << "it holds the peer's password";
}
