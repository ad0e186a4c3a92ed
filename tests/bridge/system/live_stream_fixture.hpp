#pragma once
// What the live-stream tests share: the real progress-bridge binary, a real
// Mosquitto with the project's broker-config, a worker publishing over MQTT,
// WebSocket and SSE clients reading what a browser would, and the helpers
// that read their messages.
#include <cctype>
#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bridge_process.hpp"
#include "http_test_client.hpp"
#include "mosquitto_broker.hpp"
#include "mqtt_test_client.hpp"
#include "progress/publisher/publisher.hpp"
#include "prometheus_scrape.hpp"
#include "sse_test_client.hpp"
#include "test_tokens.hpp"
#include "token_issuer.hpp"
#include "websocket_test_client.hpp"

namespace progress::bridge {

using namespace std::chrono_literals;
using nlohmann::json;
using test::bridge_process;
using test::header_list;
using test::http_get;
using test::metric_total;
using test::metric_with_label;
using test::mosquitto_broker;
using test::mqtt_test_client;
using test::sse_test_client;
using test::token_for;
using test::wait_until;
using test::websocket_options;
using test::websocket_test_client;
namespace http = test::http;

constexpr auto message_timeout = 5s;
// Payload near the protocol's 64 KiB limit: a few of them fill a stalled client's socket buffers.
inline const std::string big_blob(60000, 'x');
// Kernel send buffers grow to at most net.ipv4.tcp_wmem's 4 MiB; this many big updates surely overflow
// the bridge's buffer plus a stalled client's (small) receive buffer.
constexpr int updates_beyond_socket_buffers = 200;

// Close codes of docs/protocol.md.
constexpr unsigned close_going_away = 1001;
constexpr unsigned close_too_big = 1009;
constexpr unsigned close_token_expired = 4001;
constexpr unsigned close_slow_consumer = 4008;
constexpr unsigned close_over_budget = 4009;
constexpr unsigned close_op_flood = 4029;

// The string member `key` of a JSON object; empty when it is absent or not a string.
std::string text_field(const json& object, std::string_view key);

std::string percent_encoded(std::string_view text);

std::string websocket_target(const std::string& token, const std::string& cursor = {});

header_list bearer(const std::string& token);

websocket_options token_in_header(const std::string& token);

// A client whose receive window is a few KiB: it stalls the bridge's writes as soon as it stops reading.
websocket_options small_receive_buffer();

std::unique_ptr<websocket_test_client> open_websocket(unsigned short port, const std::string& token,
                                                      const std::string& cursor = {},
                                                      websocket_options options = {});

std::unique_ptr<sse_test_client> open_sse(unsigned short port, const std::string& user,
                                          const std::string& token, header_list headers = {});

std::string shortened(const json& message);

// The next message, which must be of `type`; a test failure and nothing otherwise.
std::optional<json> next_of_type(websocket_test_client& ws, std::string_view type,
                                 std::chrono::milliseconds timeout = message_timeout);

// The next SSE event, which must be of `type` and carry the same JSON message as data.
std::optional<json> next_event_of_type(sse_test_client& sse, std::string_view type,
                                       std::chrono::milliseconds timeout = message_timeout);

// Reads until a `pong` with `id` arrives; returns what came before it. The
// bridge answers ops in stream order, so this marks "everything sent so far".
std::optional<std::vector<json>> messages_before_pong(websocket_test_client& ws, const std::string& id,
                                                      std::chrono::milliseconds timeout = message_timeout);

// Reads until a message satisfies `last`; returns every message read, that one included.
std::optional<std::vector<json>> messages_until(websocket_test_client& ws,
                                                const std::function<bool(const json&)>& last,
                                                std::chrono::milliseconds timeout = message_timeout);

// Nothing but the answer to a ping follows: the stream holds nothing more for this client.
void expect_nothing_more(websocket_test_client& ws);

std::set<std::string> job_ids(const json& jobs);

const json* find_job(const json& jobs, const std::string& user, const std::string& job_id);

json big_update(int seq, std::string status = "in_progress");

// Scrape of the bridge's stream close counter for `reason`.
double stream_closes(const bridge_process& bridge, const std::string& reason);

class LiveStreams : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { broker_ = std::make_unique<mosquitto_broker>(); }
  static void TearDownTestSuite() { broker_.reset(); }

  void SetUp() override {
    worker_ = std::make_unique<mqtt_test_client>(broker_->url(), "worker-" + test_name());
    ASSERT_EQ(worker_->connect("worker", mosquitto_broker::password("worker")), 0);
  }
  void TearDown() override { worker_->disconnect(); }

  static std::string test_name() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }
  // A user id of this test only, so that retained jobs of other tests never show up in a snapshot.
  static std::string user(const std::string& name) { return name + "-" + test_name(); }

  // A bridge for this test, ready (connected and loaded).
  static std::unique_ptr<bridge_process> start_bridge(std::vector<std::string> extra_args = {},
                                                      const std::string& suffix = {}) {
    auto bridge = std::make_unique<bridge_process>(*broker_, test_name() + suffix, std::move(extra_args));
    EXPECT_TRUE(bridge->becomes_ready()) << bridge->log();
    return bridge;
  }

  void publish(const std::string& user_id, const std::string& job_id, const json& state) {
    ASSERT_EQ(worker_->publish("users/" + user_id + "/jobs/" + job_id, state.dump()), 0);
  }
  // An empty retained payload removes the job.
  void remove_job(const std::string& user_id, const std::string& job_id) {
    ASSERT_EQ(worker_->publish("users/" + user_id + "/jobs/" + job_id, ""), 0);
  }

  // The job as REST serves it; null when it answers anything but 200.
  static json rest_job(unsigned short port, const std::string& user_id, const std::string& job_id) {
    const auto reply = http_get(port, "/api/v1/users/" + user_id + "/jobs/" + job_id, token_for(user_id));
    return reply.status == 200 ? reply.body_json() : json{};
  }
  // Waits until REST serves the job and `condition` holds for it.
  static bool rest_serves(unsigned short port, const std::string& user_id, const std::string& job_id,
                          const std::function<bool(const json&)>& condition = {}) {
    return wait_until(
        [&] {
          const auto job = rest_job(port, user_id, job_id);
          return !job.is_null() && (!condition || condition(job));
        },
        10s);
  }
  static bool rest_forgot(unsigned short port, const std::string& user_id, const std::string& job_id) {
    return wait_until([&] { return rest_job(port, user_id, job_id).is_null(); }, 10s);
  }
  static std::function<bool(const json&)> has_seq(int seq) {
    return [seq](const json& job) { return job.value("seq", -1) == seq; };
  }

  // A stream client of another user keeps getting its updates and REST keeps answering.
  void expect_bystander_served(const bridge_process& bridge, websocket_test_client& bystander,
                               const std::string& bystander_user, int seq) {
    publish(bystander_user, "watched", {{"status", "in_progress"}, {"seq", seq}});
    auto update = next_of_type(bystander, "job");
    ASSERT_TRUE(update);
    EXPECT_EQ((*update)["job"]["seq"], seq);
    EXPECT_EQ(http_get(bridge.port(), "/api/v1/users/" + bystander_user + "/jobs/watched",
                       token_for(bystander_user))
                  .status,
              200u);
    EXPECT_EQ(bridge.admin_get("/healthz").status, 200u);
  }

  // Publishes big updates of `job_id`, each once `reader` has it, until the bridge conflates updates for
  // some other, stalled client of the same user: its socket buffers are full and a write is stuck.
  // Returns the last seq published.
  int publish_until_a_stream_stalls(const bridge_process& bridge, websocket_test_client& reader,
                                    const std::string& user_id, const std::string& job_id) {
    const auto conflated = [&] {
      return metric_total(bridge.scrape(), "progress_bridge_stream_messages_conflated_total");
    };
    int seq = 0;
    while (conflated() == 0 && seq < updates_beyond_socket_buffers) {
      publish(user_id, job_id, big_update(++seq));
      auto update = next_of_type(reader, "job");
      EXPECT_TRUE(update && (*update)["job"]["seq"] == seq) << "seq " << seq;
      if (!update) break;
    }
    EXPECT_GT(conflated(), 0.0) << "no stream fell behind after " << seq << " updates of 60 kB";
    return seq;
  }

  static inline std::unique_ptr<mosquitto_broker> broker_;
  std::unique_ptr<mqtt_test_client> worker_;
};

}  // namespace progress::bridge
