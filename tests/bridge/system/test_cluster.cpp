// Several replicas behind a load balancer, with real processes (docs/scaling.md):
// two Mosquittos joined by a bridge connection, a progress-bridge replica on
// each, HAProxy in front with docs/haproxy.cfg, a worker on one broker, and
// clients through HAProxy and directly. No sticky sessions: any replica must
// serve any client, and losing one must lose nothing.
#include <algorithm>
#include <map>
#include <tuple>

#include "bridge_cluster.hpp"
#include "live_stream_fixture.hpp"

namespace progress::bridge {
namespace {

using test::bridge_cluster;

// What must agree between replicas: each job's id, status and seq.
using job_view = std::map<std::string, std::pair<std::string, int>>;

job_view view_of(const json& jobs) {
  job_view view;
  for (const auto& job : jobs) view[text_field(job, "jobId")] = {text_field(job, "status"), job.value("seq", -1)};
  return view;
}

// The user's jobs as REST on `port` serves them; empty when it does not answer 200.
job_view rest_view(unsigned short port, const std::string& user_id) {
  const auto reply = http_get(port, "/api/v1/users/" + user_id + "/jobs", token_for(user_id));
  return reply.status == 200 ? view_of(reply.body_json()["jobs"]) : job_view{};
}

// A client's view after one stream message: a snapshot replaces it, a change updates it.
void apply(job_view& view, const json& message) {
  const auto type = text_field(message, "type");
  if (type == "snapshot") view = view_of(message["jobs"]);
  if (type == "job") {
    const auto& job = message["job"];
    view[text_field(job, "jobId")] = {text_field(job, "status"), job.value("seq", -1)};
  }
  if (type == "job_removed") view.erase(text_field(message, "jobId"));
}

std::string described(const job_view& view) {
  std::string text;
  for (const auto& [id, state] : view) text += id + "=" + state.first + "#" + std::to_string(state.second) + " ";
  return text;
}

class Cluster : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<bridge_cluster>(test_name());
    worker_ = connect_worker(0);
  }

  static std::string test_name() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }

  // A worker on broker i.
  std::unique_ptr<mqtt_test_client> connect_worker(std::size_t i) {
    auto worker = std::make_unique<mqtt_test_client>(cluster_->broker(i).url(),
                                                     "worker-" + std::to_string(i) + "-" + test_name());
    EXPECT_EQ(worker->connect("worker", mosquitto_broker::password("worker")), 0);
    return worker;
  }

  void publish(const std::string& user_id, const std::string& job_id, const std::string& status, int seq) {
    ASSERT_EQ(worker_->publish("users/" + user_id + "/jobs/" + job_id,
                               json{{"status", status}, {"seq", seq}, {"workerId", "worker-0"}}.dump()),
              0);
  }

  // Waits until REST on `port` serves exactly `expected` for alice.
  bool serves(unsigned short port, const job_view& expected) {
    return wait_until([&] { return rest_view(port, "alice") == expected; }, 10s);
  }

  std::unique_ptr<bridge_cluster> cluster_;
  std::unique_ptr<mqtt_test_client> worker_;
};

TEST_F(Cluster, BothReplicasServeTheSameJobStatesDirectlyAndThroughTheBalancer) {
  publish("alice", "import", "in_progress", 3);
  publish("alice", "report", "completed", 7);
  publish("alice", "gone", "in_progress", 1);
  ASSERT_EQ(worker_->publish("users/alice/jobs/gone", ""), 0);  // a removal crosses the link too
  const job_view expected{{"import", {"in_progress", 3}}, {"report", {"completed", 7}}};

  for (std::size_t i = 0; i < bridge_cluster::size; ++i) {
    EXPECT_TRUE(serves(cluster_->ports(i).port, expected))
        << "replica " << i << ": " << described(rest_view(cluster_->ports(i).port, "alice")) << cluster_->logs();
  }
  // Round robin: consecutive requests through HAProxy reach both replicas, and all agree.
  const auto served = [&](std::size_t i) {
    return metric_with_label(cluster_->replica(i).scrape(), "progress_bridge_http_requests_total",
                             R"(route="/api/v1/users/{userId}/jobs")");
  };
  const double before[] = {served(0), served(1)};
  for (int request = 0; request < 6; ++request) {
    EXPECT_EQ(rest_view(cluster_->balancer_port(), "alice"), expected) << "request " << request;
  }
  EXPECT_EQ(served(0) - before[0], 3.0) << cluster_->replica(0).scrape();
  EXPECT_EQ(served(1) - before[1], 3.0) << cluster_->replica(1).scrape();

  // Streams through HAProxy, WebSocket and SSE, get the same snapshot and live updates from the
  // worker's broker.
  auto ws = open_websocket(cluster_->balancer_port(), token_for("alice"));
  auto snapshot = next_of_type(*ws, "snapshot");
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(view_of((*snapshot)["jobs"]), expected);
  auto sse = open_sse(cluster_->balancer_port(), "alice", token_for("alice"));
  auto sse_snapshot = next_event_of_type(*sse, "snapshot");
  ASSERT_TRUE(sse_snapshot);
  EXPECT_EQ(view_of((*sse_snapshot)["jobs"]), expected);
  publish("alice", "import", "in_progress", 4);
  auto update = next_of_type(*ws, "job");
  ASSERT_TRUE(update);
  EXPECT_EQ((*update)["job"]["seq"], 4);
  auto sse_update = next_event_of_type(*sse, "job");
  ASSERT_TRUE(sse_update);
  EXPECT_EQ((*sse_update)["job"]["seq"], 4);
}

TEST_F(Cluster, AKilledReplicasStreamsReconnectThroughTheBalancerToTheOtherWithEveryStateCurrent) {
  publish("alice", "import", "in_progress", 1);
  publish("alice", "export", "in_progress", 1);
  for (std::size_t i = 0; i < bridge_cluster::size; ++i)
    ASSERT_TRUE(serves(cluster_->ports(i).port, {{"import", {"in_progress", 1}}, {"export", {"in_progress", 1}}}));

  // Round robin spreads the streams over both replicas.
  std::vector<std::unique_ptr<websocket_test_client>> streams;
  for (int i = 0; i < 4; ++i) {
    streams.push_back(open_websocket(cluster_->balancer_port(), token_for("alice")));
    ASSERT_TRUE(next_of_type(*streams.back(), "snapshot"));
  }
  const auto open_on = [&](std::size_t i) {
    return metric_total(cluster_->replica(i).scrape(), "progress_bridge_streams_open");
  };
  EXPECT_EQ(open_on(0), 2.0);
  EXPECT_EQ(open_on(1), 2.0);

  cluster_->kill_replica(0);
  // While it is down the jobs go on; one of them ends.
  publish("alice", "import", "in_progress", 2);
  publish("alice", "export", "completed", 2);
  publish("alice", "import", "failed", 3);
  const job_view final_states{{"import", {"failed", 3}}, {"export", {"completed", 2}}};

  std::size_t moved = 0;
  for (auto& stream : streams) {
    if (!stream->wait_for_end(2s)) {
      // On the surviving replica: still open, and it saw every change, the terminal ones included.
      const auto messages =
          messages_until(*stream, [](const json& m) { return m["type"] == "job" && m["job"]["seq"] == 3; });
      ASSERT_TRUE(messages);
      std::vector<std::string> statuses;
      for (const auto& m : *messages) statuses.push_back(text_field(m["job"], "status"));
      EXPECT_NE(std::find(statuses.begin(), statuses.end(), "completed"), statuses.end());
      continue;
    }
    // On the killed one: it ended; the client reconnects through HAProxy, as the web client does,
    // and its view (the snapshot, then live changes) becomes the current states.
    ++moved;
    ASSERT_TRUE(wait_until(
        [&] {
          stream = open_websocket(cluster_->balancer_port(), token_for("alice"));
          return stream->upgraded();
        },
        15s))
        << cluster_->logs();
    job_view view;
    EXPECT_TRUE(wait_until(
        [&] {
          while (const auto message = stream->next_message(100ms)) apply(view, *message);
          return view == final_states;
        },
        10s))
        << described(view);
  }
  EXPECT_EQ(moved, 2u);
  EXPECT_EQ(open_on(1), 4.0) << "every stream is now on the surviving replica";
  EXPECT_EQ(rest_view(cluster_->balancer_port(), "alice"), final_states);

  // Back again, the restarted replica serves the same states.
  cluster_->restart_replica(0);
  EXPECT_TRUE(serves(cluster_->ports(0).port, final_states)) << cluster_->logs();
}

TEST_F(Cluster, AJobRemovedWhileAReplicaWasDownIsRemovedThereAfterItRestarts) {
  publish("alice", "temporary", "completed", 2);
  publish("alice", "kept", "in_progress", 1);
  const job_view both{{"temporary", {"completed", 2}}, {"kept", {"in_progress", 1}}};
  for (std::size_t i = 0; i < bridge_cluster::size; ++i) ASSERT_TRUE(serves(cluster_->ports(i).port, both));
  // Let the replica on the far broker write its journal and its state marker before it dies.
  std::this_thread::sleep_for(500ms);

  // The replica on the far broker dies; the removal reaches its broker over the link meanwhile.
  cluster_->kill_replica(1);
  ASSERT_EQ(worker_->publish("users/alice/jobs/temporary", ""), 0);
  const job_view after{{"kept", {"in_progress", 1}}};
  EXPECT_TRUE(serves(cluster_->ports(0).port, after));

  cluster_->restart_replica(1);
  EXPECT_TRUE(serves(cluster_->ports(1).port, after))
      << described(rest_view(cluster_->ports(1).port, "alice")) << cluster_->logs();
}

TEST_F(Cluster, ACancelThroughOneReplicaReachesTheWorkerOnTheOtherBroker) {
  // The worker runs on broker 1; the cancel goes to the replica on broker 0.
  auto far_worker = connect_worker(1);
  ASSERT_LT(far_worker->subscribe("users/+/jobs/+/control"), 0x80);
  ASSERT_EQ(far_worker->publish("users/alice/jobs/long",
                                json{{"status", "in_progress"}, {"seq", 1}, {"workerId", "far"}}.dump()),
            0);
  ASSERT_TRUE(serves(cluster_->ports(0).port, {{"long", {"in_progress", 1}}}));

  const auto asked = test::send_request(cluster_->ports(0).port, http::verb::post,
                                        "/api/v1/users/alice/jobs/long/cancel", token_for("alice"));
  ASSERT_EQ(asked.status, 202u) << asked.body;
  const auto request = far_worker->wait_for("users/alice/jobs/long/control", 10s);
  ASSERT_TRUE(request) << cluster_->logs();
  const auto message = json::parse(request->payload, nullptr, false);
  EXPECT_EQ(message.value("action", ""), "cancel") << request->payload;
  EXPECT_EQ(message.value("requestId", ""), asked.body_json().value("requestId", "")) << request->payload;

  // The worker stops the job; the cancelled state reaches both replicas.
  ASSERT_EQ(far_worker->publish("users/alice/jobs/long",
                                json{{"status", "cancelled"}, {"seq", 2}, {"workerId", "far"}}.dump()),
            0);
  for (std::size_t i = 0; i < bridge_cluster::size; ++i)
    EXPECT_TRUE(serves(cluster_->ports(i).port, {{"long", {"cancelled", 2}}}));
}

// SIGTERM with a drain period: HAProxy's health check takes the replica out while its open
// streams go on; new requests all go to the other replica; then its streams close with 1001
// and their clients reconnect to the other one.
TEST(ClusterBalancer, ADrainingReplicaGetsNoNewClientsAndItsStreamsMoveWhenItCloses) {
  bridge_cluster cluster{"drain", {"--drain-period", "4s"}};
  std::vector<std::unique_ptr<websocket_test_client>> streams;
  for (int i = 0; i < 2; ++i) {
    streams.push_back(open_websocket(cluster.balancer_port(), token_for("alice")));
    ASSERT_TRUE(next_of_type(*streams.back(), "snapshot"));
  }
  const auto served = [&](std::size_t i) {
    return metric_with_label(cluster.replica(i).scrape(), "progress_bridge_http_requests_total",
                             R"(route="/api/v1/users/{userId}/jobs")");
  };
  auto exit_code = std::async(std::launch::async, [&] { return cluster.replica(0).terminate(); });
  ASSERT_TRUE(wait_until([&] { return cluster.balancer().log().find("bridge-a is DOWN") != std::string::npos; },
                         4s))
      << cluster.logs();
  const double before[] = {served(0), served(1)};
  for (int request = 0; request < 4; ++request)
    EXPECT_EQ(http_get(cluster.balancer_port(), "/api/v1/users/alice/jobs", token_for("alice")).status, 200u);
  EXPECT_EQ(served(0), before[0]) << "a draining replica gets no new requests";
  EXPECT_EQ(served(1) - before[1], 4.0);
  for (auto& stream : streams) EXPECT_FALSE(stream->ended()) << "open streams go on while it drains";

  ASSERT_TRUE(wait_until(
      [&] { return std::any_of(streams.begin(), streams.end(), [](auto& s) { return s->wait_for_end(50ms); }); },
      8s));
  std::size_t moved = 0;
  for (auto& stream : streams) {
    if (!stream->ended()) continue;
    EXPECT_EQ(stream->close_code(), close_going_away) << stream->end_reason();
    ++moved;
    stream = open_websocket(cluster.balancer_port(), token_for("alice"));
    EXPECT_TRUE(next_of_type(*stream, "snapshot"));
  }
  EXPECT_EQ(moved, 1u);
  EXPECT_EQ(exit_code.get(), 0);
  EXPECT_EQ(metric_total(cluster.replica(1).scrape(), "progress_bridge_streams_open"), 2.0);
}

// HAProxy names the client (X-Forwarded-For) and the replicas trust it: each client has its own
// request budget on each replica, instead of all sharing HAProxy's address.
TEST(ClusterBalancer, EachClientThroughHaproxyCountsUnderItsOwnAddress) {
  bridge_cluster cluster{"forwarded", {"--rate-limit", "1", "--rate-limit-burst", "2"}};
  const auto from = [&](const std::string& source) {
    return test::send_request(cluster.balancer_port(), http::verb::get, "/api/v1/users/alice/jobs",
                              token_for("alice"), {}, source)
        .status;
  };
  // Round robin: ten requests are five per replica, more than each replica's burst of two.
  std::size_t limited = 0;
  for (int request = 0; request < 10; ++request) limited += from("127.0.0.2") == 429 ? 1 : 0;
  EXPECT_GE(limited, 2u) << cluster.logs();
  // Another client still has its whole budget on both replicas.
  EXPECT_EQ(from("127.0.0.3"), 200u);
  EXPECT_EQ(from("127.0.0.3"), 200u);
}

}  // namespace
}  // namespace progress::bridge
