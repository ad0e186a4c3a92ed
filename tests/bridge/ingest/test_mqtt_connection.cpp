// The ingest's MQTT connection against a real Mosquitto with the project's broker-config.
#include "mqtt_connection.hpp"

#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "mosquitto_broker.hpp"
#include "mqtt_test_client.hpp"
#include "wait_until.hpp"

namespace progress::bridge {
namespace {

using namespace std::chrono_literals;
using test::mosquitto_broker;
using test::mqtt_test_client;
using test::wait_until;

class MqttConnection : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { broker_ = std::make_unique<mosquitto_broker>(); }
  static void TearDownTestSuite() { broker_.reset(); }

  void TearDown() override {
    if (connection_) connection_->close();
    work_.reset();
    io_thread_.join();
  }

  mqtt_connection_options options(const std::string& user = "bridge") {
    mqtt_connection_options o;
    o.endpoint = *mqtt_endpoint::parse(broker_->url());
    o.client_id = "conn-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
    o.username = user;
    o.password = mosquitto_broker::password(user);
    o.keepalive = 10s;
    return o;
  }

  void open(mqtt_connection_options o) {
    connection_ = std::make_shared<mqtt_connection>(
        net::make_strand(ioc_), tls_, std::move(o),
        mqtt_connection::handlers{
            .connected = [this](const mqtt::connack&) { connected_.set_value(); },
            .messages =
                [this](std::span<const mqtt::publish> batch) {
                  std::lock_guard lock{mutex_};
                  for (const auto& m : batch) received_.emplace_back(m.topic, m.payload);
                },
            .closed =
                [this](const mqtt_connection_end& end) {
                  std::lock_guard lock{mutex_};
                  end_ = end;
                },
        });
    connection_->start();
  }

  bool connected() { return connected_.get_future().wait_for(10s) == std::future_status::ready; }

  // Runs `action` on the connection's strand and waits for it.
  template <typename Action>
  void on_strand(Action action) {
    std::promise<void> done;
    net::dispatch(connection_->strand(), [&] {
      action();
      done.set_value();
    });
    done.get_future().wait();
  }

  std::optional<mqtt_connection_end> end() {
    std::lock_guard lock{mutex_};
    return end_;
  }
  std::vector<std::pair<std::string, std::string>> received() {
    std::lock_guard lock{mutex_};
    return received_;
  }

  static inline std::unique_ptr<mosquitto_broker> broker_;
  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_{ioc_.get_executor()};
  std::thread io_thread_{[this] { ioc_.run(); }};
  net::ssl::context tls_{net::ssl::context::tls_client};
  std::shared_ptr<mqtt_connection> connection_;
  std::promise<void> connected_;
  std::mutex mutex_;
  std::vector<std::pair<std::string, std::string>> received_;
  std::optional<mqtt_connection_end> end_;
};

TEST_F(MqttConnection, SubscribesReceivesRetainedAndLiveMessagesAndPublishes) {
  mqtt_test_client worker{broker_->url(), "conn-worker"};
  ASSERT_EQ(worker.connect("worker", mosquitto_broker::password("worker")), 0);
  ASSERT_EQ(worker.publish("users/conn/jobs/retained", R"({"status":"queued"})"), 0);

  open(options());
  ASSERT_TRUE(connected()) << (end() ? describe(*end()) : "no end either");
  std::promise<std::optional<std::vector<std::uint8_t>>> granted;
  on_strand([&] {
    connection_->subscribe({"users/conn/jobs/+", "bridge/sync/#"}, mqtt::qos::at_least_once,
                           [&](auto codes) { granted.set_value(codes); });
  });
  const auto codes = granted.get_future().get();
  ASSERT_TRUE(codes);
  EXPECT_EQ(*codes, (std::vector<std::uint8_t>{1, 1}));
  ASSERT_TRUE(wait_until([&] { return received().size() == 1; }));
  EXPECT_EQ(received()[0], (std::pair<std::string, std::string>{"users/conn/jobs/retained", R"({"status":"queued"})"}));

  ASSERT_EQ(worker.publish("users/conn/jobs/live", "{}"), 0);
  std::promise<std::optional<std::uint8_t>> acknowledged;
  on_strand([&] {
    connection_->publish("bridge/sync/marker", "1", mqtt::qos::at_least_once, false,
                         [&](auto reason) { acknowledged.set_value(reason); });
  });
  EXPECT_EQ(acknowledged.get_future().get(), std::uint8_t{0});
  ASSERT_TRUE(wait_until([&] { return received().size() == 3; }));
  EXPECT_EQ(received()[1].first, "users/conn/jobs/live");
  EXPECT_EQ(received()[2], (std::pair<std::string, std::string>{"bridge/sync/marker", "1"}));
}

TEST_F(MqttConnection, APublishTheAclRefusesIsAnsweredNotAuthorized) {
  open(options());
  ASSERT_TRUE(connected());
  std::promise<std::optional<std::uint8_t>> acknowledged;
  on_strand([&] {
    // The bridge account may write nothing outside its topics.
    connection_->publish("users/alice/forged", "{}", mqtt::qos::at_least_once, true,
                         [&](auto reason) { acknowledged.set_value(reason); });
  });
  EXPECT_EQ(acknowledged.get_future().get(), std::uint8_t{0x87});
  EXPECT_FALSE(end()) << "a refused publish does not end the session";
}

TEST_F(MqttConnection, AWrongPasswordIsRefusedWithAReasonAndAHint) {
  auto o = options();
  o.password = "not-the-password";
  open(o);
  ASSERT_TRUE(wait_until([&] { return end().has_value(); }));
  EXPECT_EQ(end()->why, mqtt_connection_end::kind::refused);
  EXPECT_TRUE(end()->reason_code == 0x86 || end()->reason_code == 0x87) << int{end()->reason_code};
  EXPECT_NE(describe(*end()).find("--mqtt-password"), std::string::npos) << describe(*end());
}

TEST_F(MqttConnection, NoBrokerIsUnreachable) {
  auto o = options();
  o.endpoint.port = static_cast<std::uint16_t>(test::free_loopback_port());
  open(o);
  ASSERT_TRUE(wait_until([&] { return end().has_value(); }));
  EXPECT_EQ(end()->why, mqtt_connection_end::kind::unreachable);
}

TEST_F(MqttConnection, AFrozenBrokerEndsTheConnectionAfterOneAndAHalfKeepalives) {
  auto o = options();
  o.keepalive = 1s;
  open(o);
  ASSERT_TRUE(connected());
  broker_->pause();
  const auto paused = std::chrono::steady_clock::now();
  const bool ended = wait_until([&] { return end().has_value(); }, 10s);
  const auto after = std::chrono::steady_clock::now() - paused;
  broker_->resume();
  ASSERT_TRUE(ended);
  EXPECT_EQ(end()->why, mqtt_connection_end::kind::keepalive_timeout);
  EXPECT_GE(after, 1400ms) << "not before 1.5 keepalives of silence (one check interval of slack)";
}

TEST_F(MqttConnection, CloseEndsItOnceAndFailsWhatWaits) {
  open(options());
  ASSERT_TRUE(connected());
  connection_->close();
  ASSERT_TRUE(wait_until([&] { return end().has_value(); }));
  EXPECT_EQ(end()->why, mqtt_connection_end::kind::closed);
  std::promise<std::optional<std::uint8_t>> refused;
  on_strand([&] {
    connection_->publish("bridge/sync/x", "1", mqtt::qos::at_least_once, false,
                         [&](auto reason) { refused.set_value(reason); });
  });
  EXPECT_FALSE(refused.get_future().get());
}

}  // namespace
}  // namespace progress::bridge
