// The project's broker-config, run by a real Mosquitto: what each account may
// read and write.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "mosquitto_broker.hpp"
#include "mqtt_test_client.hpp"

using namespace progress::test;

namespace {

constexpr int not_authorized = 0x87;
constexpr int bad_username_or_password = 0x86;

class broker_acl : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { broker_ = std::make_unique<mosquitto_broker>(); }
  static void TearDownTestSuite() { broker_.reset(); }

  // A connected client of `account`; the test fails when the broker refuses it.
  static std::unique_ptr<mqtt_test_client> connect_as(const std::string& account, const std::string& id) {
    auto client = std::make_unique<mqtt_test_client>(broker_->url(), id);
    EXPECT_EQ(client->connect(account, mosquitto_broker::password(account)), 0) << broker_->log();
    return client;
  }

  static bool any_on_prefix(const std::vector<received_message>& messages, const std::string& prefix) {
    return std::any_of(messages.begin(), messages.end(),
                       [&](const received_message& m) { return m.topic.starts_with(prefix); });
  }

  static std::unique_ptr<mosquitto_broker> broker_;
};

std::unique_ptr<mosquitto_broker> broker_acl::broker_;

}  // namespace

TEST_F(broker_acl, user_receives_her_retained_job_state) {
  auto worker = connect_as("worker", "w-retained");
  const std::string state = R"({"status":"in_progress","progress":40})";
  ASSERT_EQ(worker->publish("users/alice/jobs/retained-1", state), 0);
  worker->disconnect();

  auto alice = connect_as("alice", "alice-retained");
  ASSERT_EQ(alice->subscribe("users/alice/jobs/+"), 1);
  const auto received = alice->wait_for("users/alice/jobs/retained-1");
  ASSERT_TRUE(received);
  EXPECT_EQ(received->payload, state);
  EXPECT_TRUE(received->retained);
}

TEST_F(broker_acl, user_never_receives_another_users_jobs_even_on_wildcards) {
  auto worker = connect_as("worker", "w-isolation");
  ASSERT_EQ(worker->publish("users/bob/jobs/secret-retained", R"({"status":"queued"})"), 0);
  ASSERT_EQ(worker->publish("users/alice/jobs/own-retained", R"({"status":"queued"})"), 0);

  auto alice = connect_as("alice", "alice-isolation");
  // Mosquitto may grant wildcard subscriptions and filter each message on
  // delivery, or refuse them; either way nothing of bob's may arrive.
  (void)alice->subscribe("users/#");
  (void)alice->subscribe("#");
  (void)alice->subscribe("users/bob/jobs/+");
  ASSERT_TRUE(alice->wait_for("users/alice/jobs/own-retained"));

  // Live: bob's update goes out before alice's last one, so by the time hers
  // arrives bob's would have too, had the ACL let it through.
  ASSERT_EQ(worker->publish("users/bob/jobs/secret-live", R"({"status":"started"})", false), 0);
  ASSERT_EQ(worker->publish("users/bob/jobs/secret-retained", R"({"status":"started"})"), 0);
  ASSERT_EQ(worker->publish("users/alice/jobs/own-live", R"({"status":"started"})", false), 0);
  ASSERT_TRUE(alice->wait_for("users/alice/jobs/own-live"));

  const auto seen = alice->messages();
  EXPECT_FALSE(any_on_prefix(seen, "users/bob/"));
  EXPECT_FALSE(any_on_prefix(seen, "workers/"));
}

TEST_F(broker_acl, users_cannot_publish_job_topics_not_even_their_own) {
  auto bridge = connect_as("bridge", "bridge-watch");
  ASSERT_EQ(bridge->subscribe("users/+/jobs/+"), 1);

  auto alice = connect_as("alice", "alice-publish");
  EXPECT_EQ(alice->publish("users/alice/jobs/forged", R"({"status":"completed"})"), not_authorized);
  EXPECT_EQ(alice->publish("users/bob/jobs/forged", R"({"status":"completed"})"), not_authorized);
  EXPECT_EQ(alice->publish("workers/w1/status", R"({"status":"online"})"), not_authorized);

  auto worker = connect_as("worker", "w-after-forgery");
  ASSERT_EQ(worker->publish("users/alice/jobs/after-forgery", R"({"status":"queued"})"), 0);
  ASSERT_TRUE(bridge->wait_for("users/alice/jobs/after-forgery"));
  EXPECT_FALSE(any_on_prefix(bridge->messages(), "users/alice/jobs/forged"));
  EXPECT_FALSE(any_on_prefix(bridge->messages(), "users/bob/jobs/forged"));
}

TEST_F(broker_acl, worker_writes_jobs_and_status_but_reads_nothing) {
  auto worker = connect_as("worker", "w-rights");
  EXPECT_EQ(worker->publish("users/carol/jobs/w-1", R"({"status":"queued"})"), 0);
  EXPECT_EQ(worker->publish("workers/w-1/status", R"({"status":"online"})"), 0);
  EXPECT_EQ(worker->publish("users/carol/other", "x"), not_authorized);
  EXPECT_EQ(worker->publish("bridge/sync/x", "x"), not_authorized);

  (void)worker->subscribe("users/#");
  auto carol = connect_as("carol", "carol-rights");
  ASSERT_EQ(carol->subscribe("users/carol/jobs/+"), 1);
  ASSERT_EQ(worker->publish("users/carol/jobs/w-2", R"({"status":"queued"})", false), 0);
  ASSERT_TRUE(carol->wait_for("users/carol/jobs/w-2"));
  EXPECT_TRUE(worker->messages().empty());
}

// The bridge reads every job, and writes one back only when the broker lost
// it (a broker crash before its autosave, docs/protocol.md "State markers"):
// a user who subscribes afterwards gets it from the broker again.
TEST_F(broker_acl, bridge_reads_every_job_and_may_republish_jobs_and_its_state_marker) {
  auto worker = connect_as("worker", "w-bridge");
  ASSERT_EQ(worker->publish("users/alice/jobs/b-1", R"({"status":"queued"})"), 0);
  ASSERT_EQ(worker->publish("users/bob/jobs/b-2", R"({"status":"queued"})"), 0);

  auto bridge = connect_as("bridge", "bridge-reads");
  ASSERT_EQ(bridge->subscribe("users/+/jobs/+"), 1);
  EXPECT_TRUE(bridge->wait_for("users/alice/jobs/b-1"));
  EXPECT_TRUE(bridge->wait_for("users/bob/jobs/b-2"));
  EXPECT_EQ(bridge->publish("bridge/sync/bridge-reads", "marker", false), 0);

  EXPECT_EQ(bridge->publish("users/alice/jobs/b-3", R"({"status":"completed","seq":4})"), 0);
  auto alice = connect_as("alice", "alice-after-republish");
  ASSERT_EQ(alice->subscribe("users/alice/jobs/+"), 1);
  ASSERT_TRUE(alice->wait_for("users/alice/jobs/b-3"));

  const std::string marker = R"({"marker":7,"sentAt":1795000000000,"store":"s"})";
  EXPECT_EQ(bridge->publish("bridge/state/bridge-reads", marker), 0);
  auto again = connect_as("bridge", "bridge-reads-again");
  ASSERT_LT(again->subscribe("bridge/state/+"), 0x80);
  const auto retained = again->wait_for("bridge/state/bridge-reads");
  ASSERT_TRUE(retained);
  EXPECT_EQ(retained->payload, marker);
  EXPECT_TRUE(retained->retained);
}

TEST_F(broker_acl, only_the_bridge_writes_state_markers) {
  auto worker = connect_as("worker", "w-markers");
  EXPECT_EQ(worker->publish("bridge/state/progress-bridge", "{}"), not_authorized);
  auto alice = connect_as("alice", "alice-markers");
  EXPECT_EQ(alice->publish("bridge/state/progress-bridge", "{}"), not_authorized);
  EXPECT_EQ(alice->publish("users/alice/jobs/mine", R"({"status":"queued"})"), not_authorized);
}

TEST_F(broker_acl, anonymous_and_wrong_password_clients_are_refused) {
  mqtt_test_client anonymous(broker_->url(), "anonymous");
  EXPECT_EQ(anonymous.connect("", ""), not_authorized);

  // Mosquitto 2.0 answers both with Not authorized; later versions may say
  // Bad user name or password. Either is a refusal, success is not.
  const auto refused = ::testing::AnyOf(not_authorized, bad_username_or_password);
  mqtt_test_client wrong(broker_->url(), "wrong-password");
  EXPECT_THAT(wrong.connect("alice", "not-her-password"), refused);

  mqtt_test_client unknown(broker_->url(), "unknown-user");
  EXPECT_THAT(unknown.connect("mallory", "whatever"), refused);

  // And a refused client really is out: a valid login still works.
  mqtt_test_client alice(broker_->url(), "alice-after-refusals");
  EXPECT_EQ(alice.connect("alice", mosquitto_broker::password("alice")), 0);
}

TEST_F(broker_acl, retained_states_survive_a_broker_restart) {
  auto worker = connect_as("worker", "w-persist");
  ASSERT_EQ(worker->publish("users/alice/jobs/persisted", R"({"status":"completed"})"), 0);
  worker->disconnect();
  broker_->stop();
  broker_->start();

  auto alice = connect_as("alice", "alice-persist");
  ASSERT_EQ(alice->subscribe("users/alice/jobs/persisted"), 1);
  const auto received = alice->wait_for("users/alice/jobs/persisted");
  ASSERT_TRUE(received);
  EXPECT_EQ(received->payload, R"({"status":"completed"})");
}

TEST_F(broker_acl, only_the_bridge_writes_control_topics_and_workers_and_owners_read_them) {
  const std::string control = R"({"action":"cancel","requestId":"r1","requestedBy":"alice","timestamp":1})";
  // The bridge writes (and clears) requests; a worker that starts later still receives them.
  auto bridge = connect_as("bridge", "bridge-control");
  ASSERT_EQ(bridge->publish("users/alice/jobs/c-1/control", control), 0);
  auto worker = connect_as("worker", "w-control");
  ASSERT_LT(worker->subscribe("users/alice/jobs/c-1/control"), 0x80);
  const auto retained = worker->wait_for("users/alice/jobs/c-1/control");
  ASSERT_TRUE(retained);
  EXPECT_EQ(retained->payload, control);
  EXPECT_TRUE(retained->retained);
  ASSERT_LT(bridge->subscribe("users/+/jobs/+/control"), 0x80);
  ASSERT_TRUE(bridge->wait_for("users/alice/jobs/c-1/control"));

  // Neither a user (not even for her own job) nor a worker may write one.
  const std::string forged =
      R"({"action":"cancel","requestId":"forged","requestedBy":"alice","timestamp":1})";
  auto alice = connect_as("alice", "alice-control");
  EXPECT_EQ(alice->publish("users/alice/jobs/c-1/control", forged), not_authorized);
  EXPECT_EQ(alice->publish("users/bob/jobs/c-2/control", forged), not_authorized);
  EXPECT_EQ(worker->publish("users/alice/jobs/c-1/control", forged), not_authorized);

  // The owner reads her job's requests; another user does not, even on wildcards.
  ASSERT_LT(alice->subscribe("users/alice/jobs/+/control"), 0x80);
  ASSERT_TRUE(alice->wait_for("users/alice/jobs/c-1/control"));
  auto bob = connect_as("bob", "bob-control");
  (void)bob->subscribe("users/alice/jobs/+/control");
  (void)bob->subscribe("users/+/jobs/+/control");
  ASSERT_LT(bob->subscribe("users/bob/jobs/+/control"), 0x80);
  ASSERT_EQ(bridge->publish("users/bob/jobs/c-3/control", control), 0);
  ASSERT_TRUE(bob->wait_for("users/bob/jobs/c-3/control"));
  EXPECT_FALSE(any_on_prefix(bob->messages(), "users/alice/"));

  // The bridge clears the request when the job ends; by then every forged one
  // would have arrived, had the broker let it through.
  ASSERT_EQ(bridge->publish("users/alice/jobs/c-1/control", "", true), 0);
  ASSERT_TRUE(wait_until([&] {
    const auto seen = worker->messages();
    return std::any_of(seen.begin(), seen.end(), [](const received_message& m) { return m.payload.empty(); });
  }));
  for (const auto* client : {worker.get(), alice.get(), bridge.get()}) {
    for (const auto& message : client->messages()) EXPECT_NE(message.payload, forged) << message.topic;
  }
}

TEST_F(broker_acl, workers_read_control_topics_but_no_job_states) {
  auto worker = connect_as("worker", "w-control-only");
  ASSERT_LT(worker->subscribe("users/+/jobs/+/control"), 0x80);
  (void)worker->subscribe("users/+/jobs/+");
  auto bridge = connect_as("bridge", "bridge-control-only");
  auto other = connect_as("worker", "w-control-writer");
  ASSERT_EQ(other->publish("users/carol/jobs/s-1", R"({"status":"queued"})", false), 0);
  ASSERT_EQ(
      bridge->publish("users/carol/jobs/s-1/control",
                      R"({"action":"cancel","requestId":"r","requestedBy":"carol","timestamp":1})", false),
      0);
  ASSERT_TRUE(worker->wait_for("users/carol/jobs/s-1/control"));
  for (const auto& message : worker->messages())
    EXPECT_TRUE(message.topic.ends_with("/control")) << message.topic;
}
