// A broker that hangs rather than dies (SIGSTOP): its sockets stay open and
// the kernel keeps acknowledging, so only MQTT keepalive can tell. The real
// bridge must notice within 1.75 keepalives (docs/configuration.md), turn
// /readyz and progress_bridge_mqtt_connected down, keep its live streams open,
// and once the broker runs again reconnect and stream what changed.
#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "live_stream_fixture.hpp"

namespace progress::bridge {
namespace {

using test::mosquitto_broker;

double mqtt_connected(const bridge_process& bridge) {
  return metric_total(bridge.scrape(), "progress_bridge_mqtt_connected");
}

TEST(BridgeBrokerLiveness, AStalledBrokerIsNoticedAndStreamsCatchUpAfterwards) {
  mosquitto_broker broker;        // this test's own: it freezes it
  constexpr auto keepalive = 5s;  // the default
  bridge_process bridge{broker, "liveness", {"--mqtt-keepalive", "5s"}};
  ASSERT_TRUE(bridge.becomes_ready()) << bridge.log();
  EXPECT_EQ(mqtt_connected(bridge), 1.0);

  auto worker = std::make_unique<mqtt_test_client>(broker.url(), "worker-liveness");
  ASSERT_EQ(worker->connect("worker", mosquitto_broker::password("worker")), 0);
  auto ws = open_websocket(bridge.port(), token_for("alice"));
  ASSERT_TRUE(next_of_type(*ws, "snapshot"));
  ASSERT_EQ(worker->publish("users/alice/jobs/steady", json{{"status", "in_progress"}, {"seq", 1}}.dump()),
            0);
  const auto first = next_of_type(*ws, "job");
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)["job"]["seq"], 1);

  broker.pause();
  const auto paused_at = std::chrono::steady_clock::now();
  // Generous: the documented bound is 1.75 keepalives; a loaded machine may add a few seconds.
  EXPECT_TRUE(wait_until([&] { return bridge.admin_get("/readyz").status == 503; }, 10 * keepalive))
      << bridge.log();
  const auto noticed_after = std::chrono::steady_clock::now() - paused_at;
  RecordProperty(
      "stall_noticed_after_ms",
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(noticed_after).count()));
  EXPECT_EQ(mqtt_connected(bridge), 0.0);
  // The stream is still open and served.
  EXPECT_TRUE(messages_before_pong(*ws, "during-stall"));
  EXPECT_FALSE(ws->ended());

  broker.resume();
  ASSERT_TRUE(bridge.becomes_ready(60s)) << bridge.log();
  EXPECT_EQ(mqtt_connected(bridge), 1.0);
  // The worker's connection may not have survived the freeze: a fresh one.
  worker = std::make_unique<mqtt_test_client>(broker.url(), "worker-liveness-after");
  ASSERT_EQ(worker->connect("worker", mosquitto_broker::password("worker")), 0);
  ASSERT_EQ(worker->publish("users/alice/jobs/steady", json{{"status", "completed"}, {"seq", 2}}.dump()), 0);
  auto caught_up = messages_until(
      *ws,
      [](const json& m) {
        const auto job = m.value("job", json::object());
        return job.value("jobId", "") == "steady" && job.value("seq", 0) == 2;
      },
      30s);
  EXPECT_TRUE(caught_up) << bridge.log();
  EXPECT_FALSE(ws->ended()) << ws->end_reason();
}

}  // namespace
}  // namespace progress::bridge
