// broker_reconciler against a fake broker: what it publishes after each kind
// of replay, and when it sends its state markers.
#include "broker_reconciler.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "state_marker.hpp"

namespace progress::bridge {
namespace {

using namespace std::chrono_literals;

job_state running(std::int64_t seq, job_status status = job_status::in_progress) {
  job_state s;
  s.status = status;
  s.seq = seq;
  s.attempt = 1;
  return s;
}

struct published {
  std::string topic;
  std::string payload;
  broker_reconciler::publish_done done;
};

class recording_ledger : public broker_ledger {
 public:
  void marker_acknowledged(const marker_record& record) override { markers.push_back(record); }
  void removal_remembered(const removal_record& record) override { remembered.push_back(record); }
  void removal_forgotten(const job_key& key) override { forgotten.push_back(key); }

  std::vector<marker_record> markers;
  std::vector<removal_record> remembered;
  std::vector<job_key> forgotten;
};

class BrokerReconciler : public ::testing::Test {
 protected:
  static constexpr const char* store_id = "store-1";

  // A reconciler whose ledger held `acknowledged` and `removals` at start.
  void make(std::optional<marker_record> acknowledged = std::nullopt, std::vector<removal_record> removals = {}) {
    reconciler_ = std::make_shared<broker_reconciler>(
        net::make_strand(ioc_), store_, metrics_, "bridge-test",
        ledger_state{store_id, acknowledged, std::move(removals)}, &ledger_,
        reconciler_options{.marker_interval = 0ms, .republish_window = 2, .removals = {}});
  }

  // A new session whose replay carries `marker` (of this store) or none.
  void connect(std::optional<std::uint64_t> marker) {
    reconciler_->connected([this](std::string_view topic, std::string_view payload, auto done) {
      sent_.push_back(published{std::string(topic), std::string(payload), std::move(done)});
    });
    reconciler_->marker_subscribed(true);
    if (marker) reconciler_->on_marker(to_payload(state_marker{*marker, 1, store_id}), true);
  }

  // The store holds a job; returns its revision.
  std::uint64_t hold(const std::string& job, std::int64_t seq, job_status status = job_status::in_progress) {
    return store_.apply(job_key{"alice", job}, running(seq, status), seq).revision;
  }

  // The replay ends having brought `seen`; returns the held jobs it removed.
  std::vector<std::string> complete_replay(const std::vector<std::string>& seen) {
    std::vector<std::string> removed;
    for (const auto& job : store_.snapshot().jobs) {
      if (std::find(seen.begin(), seen.end(), job->key.job_id) != seen.end()) continue;
      if (reconciler_->absent_job_removed(*job)) {
        removed.push_back(job->key.job_id);
        (void)store_.remove(job->key);
      }
    }
    reconciler_->replay_complete();
    run_ready();
    return removed;
  }

  // Acknowledges everything sent so far (PUBACK with `code`).
  void acknowledge_all(std::uint8_t code = 0) {
    auto pending = std::move(sent_);
    sent_.clear();
    for (auto& message : pending) message.done(code);
    run_ready();
    done_.insert(done_.end(), pending.begin(), pending.end());
  }

  // Runs the handlers that are ready (timers due now).
  void run_ready() {
    ioc_.restart();
    ioc_.poll();
  }

  [[nodiscard]] std::vector<std::string> topics() const {
    std::vector<std::string> out;
    for (const auto& message : sent_) out.push_back(message.topic);
    return out;
  }

  net::io_context ioc_;
  job_store store_;
  metrics metrics_;
  recording_ledger ledger_;
  std::shared_ptr<broker_reconciler> reconciler_;
  std::vector<published> sent_;
  std::vector<published> done_;
};

TEST_F(BrokerReconciler, WithoutAnyMarkerEverAJobAbsentFromTheReplayIsRemoved) {
  make();
  hold("gone", 1);
  connect(std::nullopt);
  EXPECT_EQ(complete_replay({}), std::vector<std::string>{"gone"});
  // Then the first marker names the store's revision.
  ASSERT_EQ(topics(), std::vector<std::string>{"bridge/state/bridge-test"});
  const auto marker = parse_state_marker(sent_[0].payload);
  ASSERT_TRUE(marker);
  EXPECT_EQ(marker->marker, store_.revision());
  EXPECT_EQ(marker->store_id, store_id);
  acknowledge_all();
  ASSERT_EQ(ledger_.markers.size(), 1u);
  EXPECT_EQ(ledger_.markers[0].marker, store_.revision());
  EXPECT_EQ(reconciler_->unmarked_changes(), 0u);
}

TEST_F(BrokerReconciler, TheBrokersMarkerTellsRemovedJobsFromLostOnes) {
  make(marker_record{1, 1});
  const auto before = hold("removed-by-a-worker", 1);
  const auto after = hold("lost-by-the-broker", 1);
  ASSERT_LT(before, after);
  connect(before);  // the broker saved its marker between the two changes
  EXPECT_EQ(complete_replay({}), std::vector<std::string>{"removed-by-a-worker"});
  ASSERT_EQ(topics(), std::vector<std::string>{"users/alice/jobs/lost-by-the-broker"});
  EXPECT_EQ(nlohmann::json::parse(sent_[0].payload)["seq"], 1);
  EXPECT_TRUE(store_.find(job_key{"alice", "lost-by-the-broker"}));

  // The marker follows once the broker has the state again.
  acknowledge_all();
  ASSERT_EQ(topics(), std::vector<std::string>{"bridge/state/bridge-test"});
}

TEST_F(BrokerReconciler, NoMarkerInTheReplayAfterOneWasAcknowledgedMeansTheBrokerLostEverything) {
  make(marker_record{7, 1});
  hold("a", 1);
  hold("b", 1);
  hold("c", 1);
  connect(std::nullopt);
  EXPECT_TRUE(complete_replay({}).empty());
  EXPECT_EQ(topics(), (std::vector<std::string>{"users/alice/jobs/c", "users/alice/jobs/b"}))
      << "newest first, two in flight at most";
  acknowledge_all();
  EXPECT_EQ(topics(), std::vector<std::string>{"users/alice/jobs/a"});
  acknowledge_all();
  EXPECT_EQ(topics(), std::vector<std::string>{"bridge/state/bridge-test"});
}

TEST_F(BrokerReconciler, AnOlderReplayedStateIsReplacedWhenTheBridgesCameAfterTheMarker) {
  make(marker_record{1, 1});
  const auto marker = hold("covered", 2);
  hold("newer", 2);
  connect(marker);
  for (const auto* job : {"covered", "newer"}) {
    const job_key key{"alice", job};
    reconciler_->applied(key, store_.apply(key, running(1), 10), true);  // stale
  }
  complete_replay({"covered", "newer"});
  ASSERT_EQ(topics(), std::vector<std::string>{"users/alice/jobs/newer"});
  EXPECT_EQ(nlohmann::json::parse(sent_[0].payload)["seq"], 2);
}

TEST_F(BrokerReconciler, AJobRemovedAfterTheMarkerIsRemovedAgainWhenTheReplayBringsItBack) {
  make(marker_record{1, 1});
  const auto marker = hold("x", 1);
  const job_key removed{"alice", "removed"};
  hold("removed", 4, job_status::completed);
  const auto held = store_.find(removed);
  const auto revision = store_.remove(removed).revision;
  reconciler_->removed(*held, revision);
  ASSERT_EQ(ledger_.remembered.size(), 1u);

  connect(marker);
  EXPECT_TRUE(reconciler_->replay_returns_removed(removed, running(4, job_status::completed)));
  ASSERT_EQ(topics(), std::vector<std::string>{"users/alice/jobs/removed"});
  EXPECT_EQ(sent_[0].payload, "");
  // A newer attempt published since is a job again.
  auto retry = running(1);
  retry.attempt = 2;
  EXPECT_FALSE(reconciler_->replay_returns_removed(removed, retry));
  EXPECT_EQ(ledger_.forgotten.back(), removed);
}

TEST_F(BrokerReconciler, ARemovalTheBrokerSavedIsNotPublishedAgain) {
  make(marker_record{1, 1});
  const job_key removed{"alice", "removed"};
  hold("removed", 1);
  const auto held = store_.find(removed);
  reconciler_->removed(*held, store_.remove(removed).revision);
  connect(store_.revision());
  EXPECT_FALSE(reconciler_->replay_returns_removed(removed, running(9)));
  EXPECT_TRUE(sent_.empty());
}

TEST_F(BrokerReconciler, AMarkerOfAnotherStoreIsIgnored) {
  make(marker_record{1, 1});
  hold("a", 1);
  connect(std::nullopt);
  reconciler_->on_marker(to_payload(state_marker{1000, 1, "another-store"}), true);
  complete_replay({});
  EXPECT_EQ(topics(), std::vector<std::string>{"users/alice/jobs/a"});
}

TEST_F(BrokerReconciler, MarkersFollowChangesOneAtATimeAndNeverAfterARefusal) {
  make();
  connect(std::nullopt);
  complete_replay({});
  EXPECT_TRUE(sent_.empty()) << "nothing to mark";
  reconciler_->applied(job_key{"alice", "a"}, store_.apply(job_key{"alice", "a"}, running(1), 1), false);
  reconciler_->batch_applied();
  run_ready();
  ASSERT_EQ(sent_.size(), 1u);
  reconciler_->applied(job_key{"alice", "a"}, store_.apply(job_key{"alice", "a"}, running(2), 2), false);
  reconciler_->batch_applied();
  run_ready();
  EXPECT_EQ(sent_.size(), 1u) << "one marker in flight";
  EXPECT_EQ(reconciler_->unmarked_changes(), 2u);
  acknowledge_all();
  ASSERT_EQ(sent_.size(), 1u) << "the next follows the acknowledgement";
  EXPECT_EQ(parse_state_marker(sent_[0].payload)->marker, store_.revision());
  acknowledge_all(0x87);  // not authorized
  reconciler_->applied(job_key{"alice", "a"}, store_.apply(job_key{"alice", "a"}, running(3), 3), false);
  reconciler_->batch_applied();
  run_ready();
  EXPECT_TRUE(sent_.empty());
  EXPECT_EQ(ledger_.markers.size(), 1u);
}

TEST_F(BrokerReconciler, AnIncompleteReplayDecidesNothingAndSendsNoMarker) {
  make(marker_record{1, 1});
  hold("a", 1);
  connect(std::nullopt);
  reconciler_->replay_incomplete();
  reconciler_->applied(job_key{"alice", "b"}, store_.apply(job_key{"alice", "b"}, running(1), 1), false);
  reconciler_->batch_applied();
  run_ready();
  EXPECT_TRUE(sent_.empty());
}

TEST_F(BrokerReconciler, WithoutTheMarkerSubscriptionOnlyThePlainSweepRemains) {
  make(marker_record{1, 1});
  hold("a", 1);
  reconciler_->connected([this](std::string_view topic, std::string_view payload, auto done) {
    sent_.push_back(published{std::string(topic), std::string(payload), std::move(done)});
  });
  reconciler_->marker_subscribed(false);
  EXPECT_EQ(complete_replay({}), std::vector<std::string>{"a"});
  EXPECT_TRUE(sent_.empty());
}

}  // namespace
}  // namespace progress::bridge
