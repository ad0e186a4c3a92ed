// The bridge's live streams (docs/protocol.md, "Live streams from the bridge")
// over real sockets: the real progress-bridge binary, a real Mosquitto with the
// project's broker-config, a worker publishing over MQTT, and WebSocket and SSE
// clients reading what a browser would.
#include <algorithm>
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
namespace {

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

// How long a message the bridge owes a reading client may take to arrive.
constexpr auto message_timeout = 5s;
// Payload near the protocol's 64 KiB limit: a few of them fill a stalled client's socket buffers.
const std::string big_blob(60000, 'x');
// Kernel send buffers grow to at most net.ipv4.tcp_wmem's 4 MiB; this many big updates surely overflow
// the bridge's buffer plus a stalled client's (small) receive buffer.
constexpr int updates_beyond_socket_buffers = 200;

// Close codes of docs/protocol.md.
constexpr unsigned close_going_away = 1001;
constexpr unsigned close_too_big = 1009;
constexpr unsigned close_token_expired = 4001;
constexpr unsigned close_slow_consumer = 4008;
constexpr unsigned close_op_flood = 4029;

std::string percent_encoded(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0x0F];
    }
  }
  return out;
}

std::string websocket_target(const std::string& token, const std::string& cursor = {}) {
  std::string target = "/api/v1/ws?access_token=" + percent_encoded(token);
  if (!cursor.empty()) target += "&cursor=" + percent_encoded(cursor);
  return target;
}

header_list bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

websocket_options token_in_header(const std::string& token) {
  websocket_options options;
  options.headers = bearer(token);
  return options;
}

// A client whose receive window is a few KiB: it stalls the bridge's writes as soon as it stops reading.
websocket_options small_receive_buffer() {
  websocket_options options;
  options.receive_buffer_bytes = 4096;
  return options;
}

std::unique_ptr<websocket_test_client> open_websocket(unsigned short port, const std::string& token,
                                                      const std::string& cursor = {},
                                                      websocket_options options = {}) {
  return std::make_unique<websocket_test_client>(port, websocket_target(token, cursor), std::move(options));
}

std::unique_ptr<sse_test_client> open_sse(unsigned short port, const std::string& user,
                                          const std::string& token, header_list headers = {}) {
  headers.emplace_back("Authorization", "Bearer " + token);
  return std::make_unique<sse_test_client>(port, "/api/v1/users/" + user + "/stream", headers);
}

std::string shortened(const json& message) {
  const auto text = message.dump();
  return text.size() > 400 ? text.substr(0, 400) + "..." : text;
}

// The next message, which must be of `type`; a test failure and nothing otherwise.
std::optional<json> next_of_type(websocket_test_client& ws, std::string_view type,
                                 std::chrono::milliseconds timeout = message_timeout) {
  auto message = ws.next_message(timeout);
  if (!message) {
    ADD_FAILURE() << "no '" << type << "' message within " << timeout.count() << " ms ("
                  << (ws.ended() ? ws.end_reason() : "still open") << ")";
    return std::nullopt;
  }
  if (!message->is_object() || message->value("type", "") != type) {
    ADD_FAILURE() << "expected a '" << type << "' message, got " << shortened(*message);
    return std::nullopt;
  }
  return message;
}

// The next SSE event, which must be of `type` and carry the same JSON message as data.
std::optional<json> next_event_of_type(sse_test_client& sse, std::string_view type,
                                       std::chrono::milliseconds timeout = message_timeout) {
  auto event = sse.next_event(timeout);
  if (!event) {
    ADD_FAILURE() << "no '" << type << "' event within " << timeout.count() << " ms; body so far:\n"
                  << sse.body().substr(0, 2000);
    return std::nullopt;
  }
  auto data = event->data_json();
  if (event->event != type || !data.is_object() || data.value("type", "") != type) {
    ADD_FAILURE() << "expected a '" << type << "' event, got event '" << event->event << "' data "
                  << event->data.substr(0, 400);
    return std::nullopt;
  }
  // `id:` is the message's cursor (for snapshot, resume, job and job_removed).
  if (data.contains("cursor")) {
    EXPECT_EQ(event->id, data["cursor"].get<std::string>()) << event->data;
  }
  return data;
}

// Reads until a `pong` with `id` arrives; returns what came before it. The
// bridge answers ops in stream order, so this marks "everything sent so far".
std::optional<std::vector<json>> messages_before_pong(websocket_test_client& ws, const std::string& id,
                                                      std::chrono::milliseconds timeout = message_timeout) {
  if (!ws.send_text(json{{"op", "ping"}, {"id", id}}.dump())) {
    ADD_FAILURE() << "ping could not be sent: " << ws.end_reason();
    return std::nullopt;
  }
  std::vector<json> before;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto message = ws.next_message(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
    if (!message) break;
    if (message->value("type", "") == "pong" && message->value("id", json{}) == id) return before;
    before.push_back(std::move(*message));
  }
  ADD_FAILURE() << "no pong '" << id << "' within " << timeout.count() << " ms after " << before.size()
                << " messages (" << (ws.ended() ? ws.end_reason() : "still open") << ")";
  return std::nullopt;
}

// Reads until a message satisfies `last`; returns every message read, that one included.
std::optional<std::vector<json>> messages_until(websocket_test_client& ws,
                                                const std::function<bool(const json&)>& last,
                                                std::chrono::milliseconds timeout = message_timeout) {
  std::vector<json> read;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto message = ws.next_message(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
    if (!message) break;
    read.push_back(std::move(*message));
    if (last(read.back())) return read;
  }
  std::string got;
  for (const auto& message : read) got += "\n  " + shortened(message).substr(0, 160);
  ADD_FAILURE() << "the awaited message did not come within " << timeout.count() << " ms ("
                << (ws.ended() ? ws.end_reason() : "still open") << "); got " << read.size()
                << " others:" << got;
  return std::nullopt;
}

// Nothing but the answer to a ping follows: the stream holds nothing more for this client.
void expect_nothing_more(websocket_test_client& ws) {
  auto before = messages_before_pong(ws, "nothing-more");
  ASSERT_TRUE(before);
  EXPECT_TRUE(before->empty()) << shortened(before->front());
}

std::set<std::string> job_ids(const json& jobs) {
  std::set<std::string> ids;
  for (const auto& job : jobs) ids.insert(job.value("jobId", ""));
  return ids;
}

const json* find_job(const json& jobs, const std::string& user, const std::string& job_id) {
  for (const auto& job : jobs)
    if (job.value("userId", "") == user && job.value("jobId", "") == job_id) return &job;
  return nullptr;
}

json big_update(int seq, std::string status = "in_progress") {
  return {{"status", std::move(status)}, {"seq", seq}, {"details", {{"blob", big_blob}}}};
}

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
    EXPECT_TRUE(wait_until([&] { return http_get(bridge->port(), "/readyz").status == 200; }, 20s))
        << bridge->log();
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
  void expect_bystander_served(unsigned short port, websocket_test_client& bystander,
                               const std::string& bystander_user, int seq) {
    publish(bystander_user, "watched", {{"status", "in_progress"}, {"seq", seq}});
    auto update = next_of_type(bystander, "job");
    ASSERT_TRUE(update);
    EXPECT_EQ((*update)["job"]["seq"], seq);
    EXPECT_EQ(
        http_get(port, "/api/v1/users/" + bystander_user + "/jobs/watched", token_for(bystander_user)).status,
        200u);
    EXPECT_EQ(http_get(port, "/healthz").status, 200u);
  }

  // Publishes big updates of `job_id`, each once `reader` has it, until the bridge conflates updates for
  // some other, stalled client of the same user: its socket buffers are full and a write is stuck.
  // Returns the last seq published.
  int publish_until_a_stream_stalls(unsigned short port, websocket_test_client& reader,
                                    const std::string& user_id, const std::string& job_id) {
    const auto conflated = [&] {
      return metric_total(http_get(port, "/metrics").body, "progress_bridge_stream_messages_conflated_total");
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

  static std::unique_ptr<mosquitto_broker> broker_;
  std::unique_ptr<mqtt_test_client> worker_;
};

std::unique_ptr<mosquitto_broker> LiveStreams::broker_;

// --- snapshot, then live changes ------------------------------------------

TEST_F(LiveStreams, WebSocketStartsWithSnapshotThenFollowsEveryChangeToTheEnd) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto alice = user("alice");
  const auto bob = user("bob");
  publish(alice, "render", {{"status", "in_progress"}, {"progress", 30}, {"seq", 3}, {"type", "video"}});
  publish(alice, "archive", {{"status", "completed"}, {"progress", 100}, {"seq", 9}});
  publish(bob, "bobs-job", {{"status", "queued"}, {"seq", 1}});
  ASSERT_TRUE(rest_serves(port, alice, "render"));
  ASSERT_TRUE(rest_serves(port, alice, "archive"));
  ASSERT_TRUE(rest_serves(port, bob, "bobs-job"));

  websocket_test_client ws{port, "/api/v1/ws", token_in_header(token_for(alice))};
  ASSERT_TRUE(ws.upgraded()) << ws.upgrade_status() << " " << ws.upgrade_response().body();
  auto snapshot = next_of_type(ws, "snapshot");
  ASSERT_TRUE(snapshot);
  EXPECT_EQ((*snapshot)["recovered"], false);
  ASSERT_TRUE((*snapshot)["cursor"].is_string());
  EXPECT_FALSE((*snapshot)["cursor"].get<std::string>().empty());
  // The latest state of every current job of hers, exactly as REST serves it.
  EXPECT_EQ(job_ids((*snapshot)["jobs"]), (std::set<std::string>{"render", "archive"}));
  for (const auto& job : (*snapshot)["jobs"])
    EXPECT_EQ(job, rest_job(port, alice, job.value("jobId", ""))) << job.dump();
  // Newest first, like the REST listing.
  const auto listing = http_get(port, "/api/v1/users/" + alice + "/jobs", token_for(alice)).body_json();
  EXPECT_EQ((*snapshot)["jobs"], listing["jobs"]);

  // Each update is published once the previous one arrived, so none is conflated away.
  std::string previous_cursor = (*snapshot)["cursor"];
  for (int seq = 4; seq <= 9; ++seq) {
    const bool last = seq == 9;
    publish(alice, "render",
            {{"status", last ? "completed" : "in_progress"},
             {"progress", last ? 100 : seq * 10},
             {"seq", seq},
             {"type", "video"}});
    auto update = next_of_type(ws, "job");
    ASSERT_TRUE(update) << "seq " << seq;
    EXPECT_EQ((*update)["job"]["jobId"], "render");
    EXPECT_EQ((*update)["job"]["userId"], alice);
    EXPECT_EQ((*update)["job"]["seq"], seq);
    ASSERT_TRUE((*update)["cursor"].is_string());
    EXPECT_NE((*update)["cursor"], previous_cursor);
    previous_cursor = (*update)["cursor"];
    if (last) {
      EXPECT_EQ((*update)["job"]["status"], "completed");
      EXPECT_EQ((*update)["job"], rest_job(port, alice, "render"));
    }
  }

  remove_job(alice, "render");
  auto removed = next_of_type(ws, "job_removed");
  ASSERT_TRUE(removed);
  EXPECT_EQ((*removed)["userId"], alice);
  EXPECT_EQ((*removed)["jobId"], "render");
  ASSERT_TRUE((*removed)["cursor"].is_string());
  EXPECT_NE((*removed)["cursor"], previous_cursor);
  EXPECT_TRUE(rest_forgot(port, alice, "render"));
  // Nothing else was sent: not bob's job, no duplicates.
  expect_nothing_more(ws);
}

TEST_F(LiveStreams, StreamsOpenedDuringABurstJoinSnapshotAndLiveChangesConsistently) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto alice = user("alice");
  constexpr int last_seq = 400;
  // A second worker connection publishes as fast as the broker acknowledges, without waiting for anyone.
  mqtt_test_client fast_worker{broker_->url(), "fast-worker-" + test_name()};
  ASSERT_EQ(fast_worker.connect("worker", mosquitto_broker::password("worker")), 0);
  publish(alice, "burst", {{"status", "started"}, {"seq", 0}});
  ASSERT_TRUE(rest_serves(port, alice, "burst"));
  auto burst = std::async(std::launch::async, [&] {
    for (int seq = 1; seq <= last_seq; ++seq) {
      const json state = {{"status", seq == last_seq ? "completed" : "in_progress"}, {"seq", seq}};
      if (fast_worker.publish("users/" + alice + "/jobs/burst", state.dump()) != 0) return false;
    }
    return true;
  });

  // Clients join while it runs; each sees one consistent story: a snapshot, then only newer states.
  std::vector<std::unique_ptr<websocket_test_client>> clients;
  std::vector<int> seen;
  while (clients.size() < 6 && rest_job(port, alice, "burst").value("seq", 0) < last_seq) {
    clients.push_back(open_websocket(port, token_for(alice)));
    auto snapshot = next_of_type(*clients.back(), "snapshot");
    ASSERT_TRUE(snapshot);
    const auto* job = find_job((*snapshot)["jobs"], alice, "burst");
    ASSERT_TRUE(job);
    seen.push_back(job->value("seq", -1));
  }
  ASSERT_TRUE(burst.get());
  ASSERT_GE(clients.size(), 2u) << "the burst ended before two clients joined";
  for (std::size_t i = 0; i < clients.size(); ++i) {
    auto rest = messages_until(*clients[i], [](const json& m) {
      return m.value("job", json::object()).value("status", "") == "completed";
    });
    ASSERT_TRUE(rest) << "client " << i << " joined at seq " << seen[i];
    for (auto& message : *rest) {
      ASSERT_EQ(message["type"], "job") << shortened(message);
      const int seq = message["job"].value("seq", -1);
      EXPECT_GT(seq, seen[i]) << "client " << i << ": a state older than or equal to one it already had";
      seen[i] = seq;
    }
    EXPECT_EQ(seen[i], last_seq);
  }
}

TEST_F(LiveStreams, SubscribeNarrowsTheStreamAndUnsubscribeRestoresIt) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto alice = user("alice");
  publish(alice, "render-1", {{"status", "in_progress"}, {"seq", 1}, {"type", "render"}});
  publish(alice, "import-1", {{"status", "in_progress"}, {"seq", 1}, {"type", "import"}});
  ASSERT_TRUE(rest_serves(port, alice, "render-1"));
  ASSERT_TRUE(rest_serves(port, alice, "import-1"));
  auto ws = open_websocket(port, token_for(alice));
  ASSERT_TRUE(next_of_type(*ws, "snapshot"));

  ASSERT_TRUE(ws->send_text(R"({"op":"subscribe","jobIds":["render-1"]})"));
  auto narrowed = next_of_type(*ws, "snapshot");
  ASSERT_TRUE(narrowed);
  EXPECT_EQ(job_ids((*narrowed)["jobs"]), std::set<std::string>{"render-1"});
  publish(alice, "import-1", {{"status", "in_progress"}, {"seq", 2}, {"type", "import"}});
  publish(alice, "render-1", {{"status", "in_progress"}, {"seq", 2}, {"type", "render"}});
  auto only_render = next_of_type(*ws, "job");
  ASSERT_TRUE(only_render);
  EXPECT_EQ((*only_render)["job"]["jobId"], "render-1");

  ASSERT_TRUE(ws->send_text(R"({"op":"subscribe","types":["import"]})"));
  auto by_type = next_of_type(*ws, "snapshot");
  ASSERT_TRUE(by_type);
  EXPECT_EQ(job_ids((*by_type)["jobs"]), std::set<std::string>{"import-1"});
  const auto* import_job = find_job((*by_type)["jobs"], alice, "import-1");
  ASSERT_TRUE(import_job);
  EXPECT_EQ(import_job->value("seq", 0), 2) << "the snapshot holds the latest state";

  ASSERT_TRUE(ws->send_text(R"({"op":"unsubscribe"})"));
  auto everything = next_of_type(*ws, "snapshot");
  ASSERT_TRUE(everything);
  EXPECT_EQ(job_ids((*everything)["jobs"]), (std::set<std::string>{"render-1", "import-1"}));

  ASSERT_TRUE(ws->send_text(R"({"op":"ping","id":7})"));
  auto pong = next_of_type(*ws, "pong");
  ASSERT_TRUE(pong);
  EXPECT_EQ((*pong)["id"], 7);
}

// --- isolation -------------------------------------------------------------

TEST_F(LiveStreams, AliceNeverReceivesBobsJobsOnAnyStream) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto alice = user("alice");
  const auto bob = user("bob");
  publish(alice, "alices", {{"status", "in_progress"}, {"seq", 1}});
  publish(bob, "bobs", {{"status", "in_progress"}, {"seq", 1}});
  ASSERT_TRUE(rest_serves(port, alice, "alices"));
  ASSERT_TRUE(rest_serves(port, bob, "bobs"));

  auto alice_ws = open_websocket(port, token_for(alice));
  auto bob_ws = open_websocket(port, token_for(bob));
  auto alice_sse = open_sse(port, alice, token_for(alice));
  ASSERT_EQ(alice_sse->status(), 200u) << alice_sse->body();
  for (const auto& snapshot :
       {next_of_type(*alice_ws, "snapshot"), next_event_of_type(*alice_sse, "snapshot")}) {
    ASSERT_TRUE(snapshot);
    EXPECT_EQ(job_ids((*snapshot)["jobs"]), std::set<std::string>{"alices"});
  }
  auto bob_snapshot = next_of_type(*bob_ws, "snapshot");
  ASSERT_TRUE(bob_snapshot);
  EXPECT_EQ(job_ids((*bob_snapshot)["jobs"]), std::set<std::string>{"bobs"});

  // Bob's update reaches the bridge before alice's; alice's streams skip it.
  publish(bob, "bobs", {{"status", "in_progress"}, {"seq", 2}});
  publish(alice, "alices", {{"status", "in_progress"}, {"seq", 2}});
  auto bob_update = next_of_type(*bob_ws, "job");
  ASSERT_TRUE(bob_update);
  EXPECT_EQ((*bob_update)["job"]["jobId"], "bobs");
  for (auto update : {next_of_type(*alice_ws, "job"), next_event_of_type(*alice_sse, "job")}) {
    ASSERT_TRUE(update);
    EXPECT_EQ((*update)["job"]["userId"], alice);
    EXPECT_EQ((*update)["job"]["seq"], 2);
  }

  // Asking for bob's stream is refused; her own stream goes on.
  sse_test_client bobs_stream{port, "/api/v1/users/" + bob + "/stream", bearer(token_for(alice))};
  EXPECT_EQ(bobs_stream.status(), 403u) << bobs_stream.body();
  ASSERT_TRUE(alice_ws->send_text(json{{"op", "subscribe"}, {"userId", bob}}.dump()));
  auto refused = next_of_type(*alice_ws, "error");
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["code"], "forbidden");
  publish(bob, "bobs", {{"status", "completed"}, {"seq", 3}});
  publish(alice, "alices", {{"status", "in_progress"}, {"seq", 3}});
  auto after_refusal = next_of_type(*alice_ws, "job");
  ASSERT_TRUE(after_refusal);
  EXPECT_EQ((*after_refusal)["job"]["userId"], alice);
  EXPECT_EQ((*after_refusal)["job"]["seq"], 3);
  expect_nothing_more(*alice_ws);
}

TEST_F(LiveStreams, AdminFollowsEveryUserWithTheWildcard) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto alice = user("alice");
  const auto bob = user("bob");
  publish(alice, "alices", {{"status", "in_progress"}, {"seq", 1}});
  publish(bob, "bobs", {{"status", "in_progress"}, {"seq", 1}});
  ASSERT_TRUE(rest_serves(port, alice, "alices"));
  ASSERT_TRUE(rest_serves(port, bob, "bobs"));
  const auto admin = token_for("ops", true);

  auto ws = open_websocket(port, admin);
  ASSERT_TRUE(next_of_type(*ws, "snapshot"));  // the admin's own jobs: none
  ASSERT_TRUE(ws->send_text(R"({"op":"subscribe","userId":"*"})"));
  auto everyone = next_of_type(*ws, "snapshot");
  ASSERT_TRUE(everyone);
  EXPECT_TRUE(find_job((*everyone)["jobs"], alice, "alices")) << shortened(*everyone);
  EXPECT_TRUE(find_job((*everyone)["jobs"], bob, "bobs")) << shortened(*everyone);

  auto sse = open_sse(port, "*", admin);
  ASSERT_EQ(sse->status(), 200u) << sse->body();
  auto sse_snapshot = next_event_of_type(*sse, "snapshot");
  ASSERT_TRUE(sse_snapshot);
  EXPECT_TRUE(find_job((*sse_snapshot)["jobs"], alice, "alices"));
  EXPECT_TRUE(find_job((*sse_snapshot)["jobs"], bob, "bobs"));

  publish(bob, "bobs", {{"status", "completed"}, {"seq", 2}});
  publish(alice, "alices", {{"status", "failed"}, {"seq", 2}, {"error", {{"message", "disk full"}}}});
  for (const std::string& expected_user : {bob, alice}) {
    auto ws_update = next_of_type(*ws, "job");
    ASSERT_TRUE(ws_update);
    EXPECT_EQ((*ws_update)["job"]["userId"], expected_user);
    auto sse_update = next_event_of_type(*sse, "job");
    ASSERT_TRUE(sse_update);
    EXPECT_EQ((*sse_update)["job"]["userId"], expected_user);
  }

  // Following one other user.
  ASSERT_TRUE(ws->send_text(json{{"op", "subscribe"}, {"userId", bob}}.dump()));
  auto only_bob = next_of_type(*ws, "snapshot");
  ASSERT_TRUE(only_bob);
  EXPECT_EQ(job_ids((*only_bob)["jobs"]), std::set<std::string>{"bobs"});
}

// --- authentication --------------------------------------------------------

TEST_F(LiveStreams, UpgradeWithoutAValidTokenIsAnswered401) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto alice = user("alice");
  const std::map<std::string, std::string> refused_tokens = {
      {"garbage", "garbage"},
      {"expired", test::expired_token_for(alice)},
      {"forged", test::forged_token_for(alice)},
      {"alg none", test::unsigned_token_for(alice)},
  };
  const auto expect_401 = [](websocket_test_client& ws, const std::string& what) {
    EXPECT_FALSE(ws.upgraded()) << what;
    EXPECT_EQ(ws.upgrade_status(), 401u) << what;
    EXPECT_EQ(ws.upgrade_response()[http::field::www_authenticate].substr(0, 6), "Bearer") << what;
  };
  websocket_test_client without_token{port, "/api/v1/ws"};
  expect_401(without_token, "no token");
  for (const auto& [what, token] : refused_tokens) {
    websocket_test_client in_query{port, websocket_target(token)};
    expect_401(in_query, what + " in the query");
    websocket_test_client in_header{port, "/api/v1/ws", token_in_header(token)};
    expect_401(in_header, what + " in the header");
    sse_test_client sse{port, "/api/v1/users/" + alice + "/stream", bearer(token)};
    EXPECT_EQ(sse.status(), 401u) << what << " over SSE";
  }
  sse_test_client sse_without_token{port, "/api/v1/users/" + alice + "/stream"};
  EXPECT_EQ(sse_without_token.status(), 401u);

  // The same requests with a good token are upgraded.
  websocket_test_client good{port, websocket_target(token_for(alice))};
  EXPECT_TRUE(good.upgraded()) << good.upgrade_status();
  EXPECT_GE(metric_total(http_get(port, "/metrics").body, "progress_bridge_auth_failures_total"), 9.0);
}

TEST_F(LiveStreams, StreamOpensAreAdmittedLikeRequests) {
  auto bridge = start_bridge({"--rate-limit", "0.2", "--rate-limit-burst", "6"});
  const auto port = bridge->port();
  const auto alice = user("alice");
  // A plain GET of the WebSocket route, with a good token.
  const auto plain = http_get(port, "/api/v1/ws", token_for(alice));
  EXPECT_EQ(plain.status, 426u) << plain.body;
  EXPECT_EQ(plain.raw[http::field::upgrade], "websocket");
  sse_test_client bad_id{port, "/api/v1/users/al%20ice/stream", bearer(token_for(alice))};
  EXPECT_EQ(bad_id.status(), 400u) << bad_id.body();
  sse_test_client everyone{port, "/api/v1/users/*/stream", bearer(token_for(alice))};
  EXPECT_EQ(everyone.status(), 403u) << everyone.body();
  EXPECT_EQ(nlohmann::json::parse(everyone.body(), nullptr, false)["error"]["code"], "forbidden");
  // Three requests so far; the burst of six leaves three stream opens.
  for (int i = 0; i < 3; ++i) {
    websocket_test_client admitted{port, websocket_target(token_for(alice))};
    EXPECT_TRUE(admitted.upgraded()) << i << ": " << admitted.upgrade_status();
  }
  websocket_test_client limited{port, websocket_target(token_for(alice))};
  EXPECT_FALSE(limited.upgraded());
  EXPECT_EQ(limited.upgrade_status(), 429u);
  EXPECT_FALSE(limited.upgrade_response()[http::field::retry_after].empty());
}

// --- resume ----------------------------------------------------------------

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

// --- slow consumers --------------------------------------------------------

// Scrape of the bridge's stream close counter for `reason`.
double stream_closes(unsigned short port, const std::string& reason) {
  return metric_with_label(http_get(port, "/metrics").body, "progress_bridge_streams_closed_total",
                           "reason=\"" + reason + "\"");
}

TEST_F(LiveStreams, StalledConsumerIsClosed4008WhileOthersKeepReceivingEveryUpdate) {
  auto bridge = start_bridge({"--stream-queue-limit", "16", "--stream-stall-timeout", "2s"});
  const auto port = bridge->port();
  const auto alice = user("alice");
  auto reader = open_websocket(port, token_for(alice));
  auto stalled = open_websocket(port, token_for(alice), {}, small_receive_buffer());
  ASSERT_TRUE(next_of_type(*reader, "snapshot"));
  ASSERT_TRUE(next_of_type(*stalled, "snapshot"));
  // From here on `stalled` reads nothing until the bridge has given up on it.

  const int seq = publish_until_a_stream_stalls(port, *reader, alice, "bulk");
  if (HasFailure()) return;

  // The stalled write runs into the 2 s limit; the reader is served promptly all along. The bridge only
  // counts the close once the connection is gone (after a 5 s close grace, too late for a client to read
  // the close frame), so its debug log tells when it gave up.
  int tick = 0;
  const std::string gave_up = "stream of " + alice + " ends: slow_consumer";
  const bool closing = wait_until(
      [&] {
        publish(alice, "ticker", {{"status", "in_progress"}, {"seq", ++tick}});
        auto update = next_of_type(*reader, "job", 2s);
        EXPECT_TRUE(update && (*update)["job"]["seq"] == tick);
        return bridge->log().find(gave_up) != std::string::npos;
      },
      10s);
  ASSERT_TRUE(closing) << "no slow consumer close after " << tick << " ticks";

  // Draining now, the stalled client finds the close frame behind what was buffered.
  ASSERT_TRUE(stalled->wait_for_end(10s));
  EXPECT_EQ(stalled->close_code(), close_slow_consumer) << stalled->end_reason();
  int last_seq = 0;
  std::string last_cursor;
  while (auto message = stalled->next_message(0ms)) {
    if (message->contains("cursor")) last_cursor = (*message)["cursor"];
    if (message->value("type", "") != "job" || (*message)["job"]["jobId"] != "bulk") continue;
    EXPECT_GT((*message)["job"]["seq"].get<int>(), last_seq);
    last_seq = (*message)["job"]["seq"];
  }
  EXPECT_LT(last_seq, seq) << "the stalled client cannot have read everything";
  EXPECT_TRUE(wait_until([&] { return stream_closes(port, "slow_consumer") == 1; }, 10s))
      << http_get(port, "/metrics").body;
  publish(alice, "bulk", big_update(seq + 1, "completed"));
  auto final_state = next_of_type(*reader, "job");
  ASSERT_TRUE(final_state);
  EXPECT_EQ((*final_state)["job"]["status"], "completed");

  // It comes back with its cursor and learns how the job ended.
  auto back = open_websocket(port, token_for(alice), last_cursor);
  auto first = back->next_message(message_timeout);
  ASSERT_TRUE(first);
  std::optional<json> bulk_state;
  if ((*first)["type"] == "snapshot") {
    if (const auto* job = find_job((*first)["jobs"], alice, "bulk")) bulk_state = *job;
  } else {
    ASSERT_EQ((*first)["type"], "resume") << shortened(*first);
    auto replayed = messages_until(
        *back,
        [](const json& m) { return m.value("job", json::object()).value("status", "") == "completed"; }, 10s);
    ASSERT_TRUE(replayed);
    for (auto& message : *replayed)
      if (message["type"] == "job" && message["job"]["jobId"] == "bulk") bulk_state = message["job"];
  }
  ASSERT_TRUE(bulk_state);
  EXPECT_EQ((*bulk_state)["status"], "completed");
}

TEST_F(LiveStreams, ConsumerWhoseQueueOverflowsIsClosed4008AndResumesWithItsCursor) {
  // A stall limit far beyond this test: only the queue limit can close the stream.
  auto bridge = start_bridge({"--stream-queue-limit", "16", "--stream-stall-timeout", "60s"});
  const auto port = bridge->port();
  const auto alice = user("alice");
  auto reader = open_websocket(port, token_for(alice));
  auto stalled = open_websocket(port, token_for(alice), {}, small_receive_buffer());
  ASSERT_TRUE(next_of_type(*reader, "snapshot"));
  ASSERT_TRUE(next_of_type(*stalled, "snapshot"));
  publish_until_a_stream_stalls(port, *reader, alice, "filler");
  if (HasFailure()) return;

  // Distinct jobs cannot be conflated with each other: the queue outgrows 16.
  constexpr int distinct_jobs = 40;
  for (int job = 1; job <= distinct_jobs; ++job) {
    publish(alice, "many-" + std::to_string(job), {{"status", "queued"}, {"seq", 1}});
    ASSERT_TRUE(next_of_type(*reader, "job"));
  }
  // Reading again at once, the client finds the close frame behind what was buffered.
  ASSERT_TRUE(stalled->wait_for_end(10s));
  EXPECT_EQ(stalled->close_code(), close_slow_consumer) << stalled->end_reason();
  std::string last_cursor;
  while (auto message = stalled->next_message(0ms))
    if (message->contains("cursor")) last_cursor = (*message)["cursor"];
  ASSERT_FALSE(last_cursor.empty());
  EXPECT_TRUE(wait_until([&] { return stream_closes(port, "slow_consumer") == 1; }, 10s))
      << http_get(port, "/metrics").body;

  // The reader is still served.
  publish(alice, "many-1", {{"status", "completed"}, {"seq", 2}});
  auto update = next_of_type(*reader, "job");
  ASSERT_TRUE(update);
  EXPECT_EQ((*update)["job"]["jobId"], "many-1");

  // Back with its cursor, now reading, it gets every job it missed and stays connected.
  auto back = open_websocket(port, token_for(alice), last_cursor);
  auto first = back->next_message(message_timeout);
  ASSERT_TRUE(first) << back->end_reason();
  std::set<std::string> missing;
  for (int job = 1; job <= distinct_jobs; ++job) missing.insert("many-" + std::to_string(job));
  // More missed changes than half the queue limit: a snapshot instead of a replay.
  ASSERT_EQ((*first)["type"], "snapshot") << shortened(*first);
  EXPECT_EQ((*first)["recovered"], false);
  for (const auto& job : (*first)["jobs"]) missing.erase(job.value("jobId", ""));
  EXPECT_TRUE(missing.empty()) << missing.size() << " jobs missing, first " << *missing.begin();
  EXPECT_FALSE(back->ended()) << "closed again: " << back->close_code().value_or(0) << " "
                              << back->end_reason();
  EXPECT_EQ(stream_closes(port, "slow_consumer"), 1.0);
}

TEST_F(LiveStreams, SlowConsumerThatCatchesUpGetsConflatedLatestStatesAndEveryTerminalState) {
  // The stall limit is far longer than the stall below: this client must not be closed.
  auto bridge = start_bridge({"--stream-queue-limit", "16", "--stream-stall-timeout", "30s"});
  const auto port = bridge->port();
  const auto alice = user("alice");
  auto reader = open_websocket(port, token_for(alice));
  auto slow = open_websocket(port, token_for(alice), {}, small_receive_buffer());
  ASSERT_TRUE(next_of_type(*reader, "snapshot"));
  ASSERT_TRUE(next_of_type(*slow, "snapshot"));

  // One big job fills the slow client's buffers; small jobs change and finish meanwhile.
  std::map<std::string, json> final_states;
  int published = 0;
  const auto publish_and_follow = [&](const std::string& job_id, const json& state) {
    publish(alice, job_id, state);
    ++published;
    auto update = next_of_type(*reader, "job");
    ASSERT_TRUE(update) << job_id << " " << state.value("seq", 0);
    ASSERT_EQ((*update)["job"]["jobId"], job_id);
    ASSERT_EQ((*update)["job"]["seq"], state.value("seq", -1));
    final_states[job_id] = (*update)["job"];
  };
  for (int seq = 1; seq <= updates_beyond_socket_buffers; ++seq) {
    publish_and_follow("big", big_update(seq));
    if (seq % 20 == 0) publish_and_follow("small-a", {{"status", "in_progress"}, {"seq", seq}});
    if (seq % 25 == 0) publish_and_follow("small-b", {{"status", "in_progress"}, {"seq", seq}});
  }
  publish_and_follow("small-a", {{"status", "failed"}, {"seq", 1000}, {"error", {{"message", "boom"}}}});
  publish_and_follow("small-b", {{"status", "cancelled"}, {"seq", 1000}});
  publish_and_follow("big", big_update(updates_beyond_socket_buffers + 1, "completed"));
  if (HasFatalFailure()) return;

  // Catching up: every job's messages in order, ending with its final state.
  std::set<std::string> unfinished{"big", "small-a", "small-b"};
  auto caught_up = messages_until(
      *slow,
      [&](const json& m) {
        const auto job = m.value("job", json::object());
        const auto final_state = final_states.find(job.value("jobId", ""));
        if (final_state != final_states.end() && final_state->second == job)
          unfinished.erase(final_state->first);
        return unfinished.empty();
      },
      15s);
  ASSERT_TRUE(caught_up);
  expect_nothing_more(*slow);
  EXPECT_FALSE(slow->ended()) << slow->end_reason();
  std::map<std::string, int> last_seq;
  std::map<std::string, json> last_state;
  std::size_t job_messages = 0;
  for (auto& message : *caught_up) {
    ASSERT_EQ(message["type"], "job") << shortened(message);
    ++job_messages;
    const std::string job_id = message["job"]["jobId"];
    const int seq = message["job"]["seq"];
    EXPECT_GT(seq, last_seq[job_id]) << job_id;
    last_seq[job_id] = seq;
    last_state[job_id] = message["job"];
  }
  for (const auto& [job_id, state] : final_states) EXPECT_EQ(last_state[job_id], state) << job_id;
  EXPECT_LT(job_messages, static_cast<std::size_t>(published)) << "nothing was conflated";
  EXPECT_EQ(stream_closes(port, "slow_consumer"), 0.0);
}

// --- token expiry ----------------------------------------------------------

TEST_F(LiveStreams, StreamsEndWhenTheirTokenExpires) {
  // A stream ends at the token's exp plus the clock-skew leeway a new request would still get.
  auto bridge = start_bridge({"--jwt-leeway", "1s"});
  const auto port = bridge->port();
  const auto alice = user("alice");
  const auto short_lived = [&] { return mint_token(bridge_process::jwt_secret, alice, false, 2s); };
  auto ws = open_websocket(port, short_lived());
  ASSERT_TRUE(ws->upgraded()) << ws->upgrade_status();
  auto sse = open_sse(port, alice, short_lived());
  ASSERT_EQ(sse->status(), 200u) << sse->body();
  const auto opened = std::chrono::steady_clock::now();
  ASSERT_TRUE(next_of_type(*ws, "snapshot"));
  ASSERT_TRUE(next_event_of_type(*sse, "snapshot"));

  ASSERT_TRUE(ws->wait_for_end(10s));
  EXPECT_EQ(ws->close_code(), close_token_expired) << ws->end_reason();
  auto expired = next_event_of_type(*sse, "error", 10s);
  ASSERT_TRUE(expired);
  EXPECT_EQ((*expired)["code"], "token_expired");
  EXPECT_TRUE(sse->wait_for_end(5s)) << sse->body();
  EXPECT_GE(std::chrono::steady_clock::now() - opened, 500ms) << "closed long before the token expired";
  EXPECT_TRUE(wait_until([&] { return stream_closes(port, "token_expired") == 2; }, 5s))
      << http_get(port, "/metrics").body;
}

// --- malformed client frames -----------------------------------------------

TEST_F(LiveStreams, MalformedOpsGetErrorsAndTheStreamStaysOpen) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto alice = user("alice");
  const auto bob = user("bob");
  auto bystander = open_websocket(port, token_for(bob));
  ASSERT_TRUE(next_of_type(*bystander, "snapshot"));
  auto ws = open_websocket(port, token_for(alice));
  ASSERT_TRUE(next_of_type(*ws, "snapshot"));

  const std::vector<std::pair<std::string, std::string>> bad_ops = {
      {"not json", "bad_request"},
      {"[1,2,3]", "bad_request"},
      {R"("subscribe")", "bad_request"},
      {R"({"op":42})", "bad_request"},
      {R"({"op":"subscribe","jobIds":"not-an-array"})", "bad_request"},
      {R"({"op":"subscribe","types":[1,2]})", "bad_request"},
      {R"({"op":"dance"})", "unknown_op"},
      {R"({"noop":true})", "bad_request"},
      {R"({"op":"subscribe","jobIds":["a/b"]})", "bad_request"},
      {R"({"op":"subscribe","userId":"not an id"})", "bad_request"},
      {R"({"op":"subscribe","userId":7})", "bad_request"},
      {json{{"op", "subscribe"}, {"jobIds", std::vector<std::string>(101, "job")}}.dump(), "bad_request"},
      {json{{"op", "subscribe"}, {"types", std::vector<std::string>(21, "type")}}.dump(), "bad_request"},
  };
  int seq = 0;
  for (const auto& [frame, code] : bad_ops) {
    ASSERT_TRUE(ws->send_text(frame)) << frame;
    auto error = next_of_type(*ws, "error");
    ASSERT_TRUE(error) << frame;
    EXPECT_EQ((*error)["code"], code) << frame;
    EXPECT_TRUE((*error)["message"].is_string()) << frame;
    expect_bystander_served(port, *bystander, bob, ++seq);
  }
  ASSERT_TRUE(ws->send_binary(R"({"op":"ping","id":"binary"})"));
  auto binary_error = next_of_type(*ws, "error");
  ASSERT_TRUE(binary_error);
  EXPECT_EQ((*binary_error)["code"], "bad_request");
  expect_bystander_served(port, *bystander, bob, ++seq);

  // Still open and still serving alice, in her own scope.
  publish(alice, "still-here", {{"status", "queued"}, {"seq", 1}});
  auto update = next_of_type(*ws, "job");
  ASSERT_TRUE(update);
  EXPECT_EQ((*update)["job"]["jobId"], "still-here");
  expect_nothing_more(*ws);
  const auto scrape = http_get(port, "/metrics").body;
  const auto bad_requests = std::count_if(bad_ops.begin(), bad_ops.end(),
                                          [](const auto& op) { return op.second == "bad_request"; });
  EXPECT_EQ(metric_with_label(scrape, "progress_bridge_stream_ops_refused_total", R"(code="bad_request")"),
            static_cast<double>(bad_requests + 1))
      << scrape;
  EXPECT_EQ(metric_with_label(scrape, "progress_bridge_stream_ops_refused_total", R"(code="unknown_op")"),
            1.0);
}

TEST_F(LiveStreams, OpFloodIsRateLimitedThenClosed4029) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto bob = user("bob");
  auto bystander = open_websocket(port, token_for(bob));
  ASSERT_TRUE(next_of_type(*bystander, "snapshot"));
  auto flooder = open_websocket(port, token_for(user("alice")));
  ASSERT_TRUE(next_of_type(*flooder, "snapshot"));

  // Burst 40, 20/s, closed after 100 refused ops: 400 at once are far beyond that.
  int sent = 0;
  for (int i = 0; i < 400 && flooder->send_text(json{{"op", "ping"}, {"id", i}}.dump()); ++i) ++sent;
  ASSERT_TRUE(flooder->wait_for_end(10s));
  EXPECT_EQ(flooder->close_code(), close_op_flood) << flooder->end_reason() << " after " << sent << " ops";
  std::size_t pongs = 0;
  std::size_t rate_limited = 0;
  while (auto message = flooder->next_message(0ms)) {
    if ((*message)["type"] == "pong") ++pongs;
    if ((*message)["type"] == "error" && (*message)["code"] == "rate_limited") ++rate_limited;
  }
  EXPECT_GE(pongs, 30u) << "the burst is answered";
  EXPECT_LT(pongs, 100u) << "the flood is not";
  EXPECT_GE(rate_limited, 1u);
  expect_bystander_served(port, *bystander, bob, 1);
  EXPECT_GE(stream_closes(port, "op_flood"), 1.0) << http_get(port, "/metrics").body;
}

TEST_F(LiveStreams, OversizeClientFrameIsClosed1009) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto bob = user("bob");
  auto bystander = open_websocket(port, token_for(bob));
  ASSERT_TRUE(next_of_type(*bystander, "snapshot"));
  auto ws = open_websocket(port, token_for(user("alice")));
  ASSERT_TRUE(next_of_type(*ws, "snapshot"));

  // Just at the limit is still an op.
  const std::string prefix = R"({"op":"ping","id":")";
  const std::string at_limit = prefix + std::string(4096 - prefix.size() - 2, 'a') + "\"}";
  ASSERT_EQ(at_limit.size(), 4096u);
  ASSERT_TRUE(ws->send_text(at_limit));
  ASSERT_TRUE(next_of_type(*ws, "pong"));

  ws->send_text(prefix + std::string(5000, 'a') + "\"}");
  ASSERT_TRUE(ws->wait_for_end(10s));
  EXPECT_EQ(ws->close_code(), close_too_big) << ws->end_reason();
  expect_bystander_served(port, *bystander, bob, 1);
}

// --- SSE -------------------------------------------------------------------

TEST_F(LiveStreams, SseStreamsEventsWithCursorIdsAndHeartbeats) {
  auto bridge = start_bridge({"--stream-heartbeat", "1s"});
  const auto port = bridge->port();
  const auto alice = user("alice");
  progress::publisher_options options;
  options.url = broker_->url();
  options.username = "worker";
  options.password = mosquitto_broker::password("worker");
  options.worker_id = "sse-worker";
  options.throttle_interval = 0ms;
  progress::publisher publisher{options};
  auto job = publisher.job(alice, "sse-job", progress::job_options{.type = "render"});
  job.start("warming up").wait();
  ASSERT_TRUE(rest_serves(port, alice, "sse-job"));

  // The token in the query string, as EventSource must send it.
  sse_test_client sse{port,
                      "/api/v1/users/" + alice + "/stream?access_token=" + percent_encoded(token_for(alice))};
  ASSERT_EQ(sse.status(), 200u) << sse.body();
  EXPECT_TRUE(sse.header(http::field::content_type).starts_with("text/event-stream"))
      << sse.header(http::field::content_type);
  auto snapshot = next_event_of_type(sse, "snapshot");
  ASSERT_TRUE(snapshot);
  EXPECT_EQ((*snapshot)["recovered"], false);
  ASSERT_EQ((*snapshot)["jobs"].size(), 1u);
  EXPECT_EQ((*snapshot)["jobs"][0], rest_job(port, alice, "sse-job"));

  job.phase(1, 2, "Render").wait();
  auto phase = next_event_of_type(sse, "job");
  ASSERT_TRUE(phase);
  EXPECT_EQ((*phase)["job"]["phaseTitle"], "Render");
  job.complete().wait();
  auto done = next_event_of_type(sse, "job");
  ASSERT_TRUE(done);
  EXPECT_EQ((*done)["job"]["status"], "completed");
  EXPECT_EQ((*done)["job"], rest_job(port, alice, "sse-job"));
  job.remove().wait();
  auto removed = next_event_of_type(sse, "job_removed");
  ASSERT_TRUE(removed);
  EXPECT_EQ((*removed)["jobId"], "sse-job");
  EXPECT_EQ((*removed)["userId"], alice);

  ASSERT_TRUE(sse.wait_for_comment(5s)) << sse.body();
  EXPECT_NE(sse.comments().back().find("heartbeat"), std::string::npos) << sse.comments().back();
  EXPECT_FALSE(sse.ended());
}

TEST_F(LiveStreams, IdleWebSocketIsPinged) {
  auto bridge = start_bridge({"--stream-heartbeat", "1s"});
  auto ws = open_websocket(bridge->port(), token_for(user("alice")));
  ASSERT_TRUE(next_of_type(*ws, "snapshot"));
  // Reading answers the pings, so the bridge keeps the connection.
  EXPECT_TRUE(wait_until(
      [&] {
        (void)ws->next_message(100ms);
        return ws->pings_received() >= 2;
      },
      8s));
  EXPECT_FALSE(ws->ended()) << ws->end_reason();
}

TEST_F(LiveStreams, SilentWebSocketIsDroppedAfterTwiceTheHeartbeat) {
  auto bridge = start_bridge({"--stream-heartbeat", "1s"});
  const auto port = bridge->port();
  auto silent = open_websocket(port, token_for(user("alice")));
  ASSERT_TRUE(next_of_type(*silent, "snapshot"));
  // It neither reads nor answers pings from here on.
  const auto open_streams = [&] {
    return metric_total(http_get(port, "/metrics").body, "progress_bridge_streams_open");
  };
  EXPECT_EQ(open_streams(), 1.0);
  EXPECT_TRUE(wait_until([&] { return open_streams() == 0.0; }, 8s)) << http_get(port, "/metrics").body;
  EXPECT_TRUE(silent->wait_for_end(5s));
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
  ASSERT_TRUE(wait_until([&] { return http_get(port, "/readyz").status == 503; }, 20s));
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
  EXPECT_TRUE(wait_until(
      [&] { return metric_total(http_get(port, "/metrics").body, "progress_bridge_streams_open") == 0; },
      5s));
}

// --- shutdown and metrics -----------------------------------------------------

TEST_F(LiveStreams, ShutdownClosesStreams1001) {
  auto bridge = start_bridge();
  const auto alice = user("alice");
  auto ws = open_websocket(bridge->port(), token_for(alice));
  ASSERT_TRUE(next_of_type(*ws, "snapshot"));
  auto sse = open_sse(bridge->port(), alice, token_for(alice));
  ASSERT_TRUE(next_event_of_type(*sse, "snapshot"));

  auto exit_code = std::async(std::launch::async, [&] { return bridge->terminate(); });
  ASSERT_TRUE(ws->wait_for_end(10s));
  EXPECT_EQ(ws->close_code(), close_going_away) << ws->end_reason();
  EXPECT_TRUE(sse->wait_for_end(10s));
  EXPECT_EQ(exit_code.get(), 0) << bridge->log();
}

TEST_F(LiveStreams, MetricsCountStreamConnectionsAndCloses) {
  auto bridge = start_bridge();
  const auto port = bridge->port();
  const auto alice = user("alice");
  const auto connections = [&] {
    return metric_total(http_get(port, "/metrics").body, "progress_bridge_streams_open");
  };
  EXPECT_EQ(connections(), 0.0);
  {
    auto ws_a = open_websocket(port, token_for(alice));
    auto ws_b = open_websocket(port, token_for(alice));
    auto sse = open_sse(port, alice, token_for(alice));
    ASSERT_TRUE(next_of_type(*ws_a, "snapshot"));
    ASSERT_TRUE(next_of_type(*ws_b, "snapshot"));
    ASSERT_TRUE(next_event_of_type(*sse, "snapshot"));
    const auto open = http_get(port, "/metrics").body;
    EXPECT_EQ(metric_with_label(open, "progress_bridge_streams_open", R"(transport="websocket")"), 2.0)
        << open;
    EXPECT_EQ(metric_with_label(open, "progress_bridge_streams_open", R"(transport="sse")"), 1.0) << open;
    EXPECT_GE(metric_total(open, "progress_bridge_stream_messages_sent_total"), 3.0) << "three snapshots";
    EXPECT_TRUE(ws_b->close());  // a close handshake; the others just drop the connection
  }
  EXPECT_TRUE(wait_until([&] { return connections() == 0.0; }, 10s)) << http_get(port, "/metrics").body;
  const auto scrape = http_get(port, "/metrics").body;
  const auto closed = [&](const std::string& transport) {
    return metric_with_label(scrape, "progress_bridge_streams_closed_total",
                             R"(reason="client",transport=")" + transport + "\"");
  };
  EXPECT_EQ(closed("websocket"), 2.0) << scrape;
  EXPECT_EQ(closed("sse"), 1.0) << scrape;
  EXPECT_EQ(metric_total(scrape, "progress_bridge_streams_closed_total"), 3.0) << scrape;
  EXPECT_GE(
      metric_with_label(scrape, "progress_bridge_http_requests_total", R"(code="101",route="/api/v1/ws")"),
      2.0)
      << scrape;
}

}  // namespace
}  // namespace progress::bridge
