#include "cancel_relay.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "job_fixtures.hpp"

namespace progress::bridge {
namespace {

using fixtures::state;
using nlohmann::json;

const job_key job{"alice", "j1"};
const std::string topic = "users/alice/jobs/j1/control";

struct sent_message {
  std::string topic;
  std::string payload;
  std::function<void(std::optional<std::uint8_t>)> done;
};

// A store, a relay that sees every change, and a broker connection that records what is published.
class CancelRelayTest : public ::testing::Test {
 protected:
  CancelRelayTest() { pass_on(store_.apply(job, state(job_status::in_progress, 1), 1000)); }

  void pass_on(const apply_result& change) { relay_.observe(change); }
  void pass_on(const std::vector<apply_result>& changes) {
    for (const auto& change : changes) pass_on(change);
  }
  apply_result request(const std::string& id = "c-1") {
    auto result = relay_.request(job, control_message{"cancel", id, "alice", 5000});
    pass_on(result);
    return result;
  }
  std::optional<cancel_mark> mark() const {
    const auto found = store_.find(job);
    if (!found || !found->notes.cancel_requested) return std::nullopt;
    return *found->notes.cancel_requested;
  }

  job_store store_;
  bool connected_ = true;
  bool window_full_ = false;  // the connection answers "not taken" at once, as mqtt_connection does
  std::vector<sent_message> sent_;
  cancel_relay relay_{store_, [this](const std::string& t, const std::string& payload, auto done) {
                        if (!connected_) return false;
                        if (window_full_) {
                          if (done) done(std::nullopt);
                          return true;
                        }
                        sent_.push_back({t, payload, std::move(done)});
                        return true;
                      }};
};

TEST_F(CancelRelayTest, PublishesTheRequestTheWorkersParseAndMarksTheJob) {
  const auto result = request();
  ASSERT_EQ(result.outcome, apply_outcome::accepted);
  EXPECT_EQ(mark(), (cancel_mark{"c-1", "alice", 5000}));
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].topic, topic);
  const auto parsed = parse_control(sent_[0].payload);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed.message, (control_message{"cancel", "c-1", "alice", 5000}));
}

TEST_F(CancelRelayTest, ASecondRequestKeepsTheFirst) {
  request("c-1");
  EXPECT_EQ(request("c-2").outcome, apply_outcome::duplicate);
  EXPECT_EQ(mark()->request_id, "c-1");
  EXPECT_EQ(sent_.size(), 1u);
}

TEST_F(CancelRelayTest, UnknownAndFinishedJobsAreNotAsked) {
  EXPECT_EQ(relay_.request({"alice", "nope"}, control_message{"cancel", "c", "alice", 1}).outcome,
            apply_outcome::not_found);
  pass_on(store_.apply(job, state(job_status::completed, 2), 2000));
  EXPECT_EQ(request().outcome, apply_outcome::after_terminal);
  EXPECT_TRUE(sent_.empty());
}

TEST_F(CancelRelayTest, ClearsTheTopicWhenTheJobEnds) {
  request();
  pass_on(store_.apply(job, state(job_status::in_progress, 2), 2000));
  EXPECT_EQ(sent_.size(), 1u);
  pass_on(store_.apply(job, state(job_status::cancelled, 3), 3000));
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].topic, topic);
  EXPECT_EQ(sent_[1].payload, "");
}

TEST_F(CancelRelayTest, ClearsTheTopicWhenTheJobIsRemoved) {
  request();
  pass_on(store_.remove(job));
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].payload, "");
}

TEST_F(CancelRelayTest, JobsNeverAskedAreNotCleared) {
  pass_on(store_.apply(job, state(job_status::completed, 2), 2000));
  EXPECT_TRUE(sent_.empty());
}

TEST_F(CancelRelayTest, ARequestLostWithTheConnectionIsSentAgain) {
  request();
  sent_[0].done(std::nullopt);  // the connection ended before the PUBACK
  EXPECT_TRUE(relay_.settle().empty());
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].payload, sent_[0].payload);
  sent_[1].done(0);
  EXPECT_TRUE(relay_.settle().empty());
  EXPECT_EQ(sent_.size(), 2u);  // acknowledged: not sent again
}

TEST_F(CancelRelayTest, ARequestMadeWhileDisconnectedLeavesWithTheNextSettle) {
  connected_ = false;
  request();
  EXPECT_TRUE(sent_.empty());
  connected_ = true;
  EXPECT_TRUE(relay_.settle().empty());
  EXPECT_EQ(sent_.size(), 1u);
}

TEST_F(CancelRelayTest, WhatTheConnectionCannotTakeNowLeavesWithTheNextSettle) {
  window_full_ = true;
  request();
  pass_on(store_.apply(job, state(job_status::cancelled, 2), 2000));  // and its clear
  EXPECT_TRUE(sent_.empty());
  window_full_ = false;
  EXPECT_TRUE(relay_.settle().empty());
  ASSERT_EQ(sent_.size(), 1u);  // the clear replaced the request
  EXPECT_EQ(sent_[0].payload, "");
  sent_[0].done(0);
  EXPECT_TRUE(relay_.settle().empty());
  EXPECT_EQ(sent_.size(), 1u);
}

TEST_F(CancelRelayTest, AClearLostWithTheConnectionIsSentAgain) {
  request();
  sent_[0].done(0);
  pass_on(store_.remove(job));
  ASSERT_EQ(sent_.size(), 2u);
  sent_[1].done(std::nullopt);
  EXPECT_TRUE(relay_.settle().empty());
  ASSERT_EQ(sent_.size(), 3u);
  EXPECT_EQ(sent_[2].payload, "");
}

TEST_F(CancelRelayTest, ARequestTheBrokerRefusesIsTakenBack) {
  request();
  sent_[0].done(0x87);  // not authorized
  const auto changes = relay_.settle();
  pass_on(changes);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_FALSE(mark());
  EXPECT_EQ(sent_.size(), 1u);
}

TEST_F(CancelRelayTest, ARetainedRequestOfARunningJobMarksItOnceLoaded) {
  const auto retained = json(control_message{"cancel", "c-old", "bob", 42}).dump();
  EXPECT_TRUE(relay_.on_control(job, retained, false).empty());  // loading: it waits
  EXPECT_FALSE(mark());
  const auto changes = relay_.settle();
  pass_on(changes);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(mark(), (cancel_mark{"c-old", "bob", 42}));
  EXPECT_TRUE(sent_.empty());

  // It is cleared when the job ends, like one of this run.
  pass_on(store_.apply(job, state(job_status::cancelled, 2), 2000));
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].payload, "");
}

TEST_F(CancelRelayTest, ARetainedRequestOfAFinishedJobIsCleared) {
  pass_on(store_.apply(job, state(job_status::failed, 2), 2000));
  const auto retained = json(control_message{"cancel", "c-old", "alice", 42}).dump();
  EXPECT_TRUE(relay_.on_control(job, retained, true).empty());
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].topic, topic);
  EXPECT_EQ(sent_[0].payload, "");
}

TEST_F(CancelRelayTest, ARetainedRequestOfAJobNotHeldIsLeftAlone) {
  // Another bridge may have made it, or the job is still to come: its worker is to get it.
  const auto retained = json(control_message{"cancel", "c-other", "alice", 42}).dump();
  EXPECT_TRUE(relay_.on_control({"alice", "elsewhere"}, retained, false).empty());
  EXPECT_TRUE(relay_.settle().empty());
  EXPECT_TRUE(relay_.on_control({"alice", "later"}, retained, true).empty());
  EXPECT_TRUE(sent_.empty());
}

TEST_F(CancelRelayTest, TheEchoOfItsOwnRequestChangesNothing) {
  request();
  const auto echo = sent_[0].payload;
  EXPECT_TRUE(relay_.on_control(job, echo, true).empty());
  sent_[0].done(0);
  EXPECT_TRUE(relay_.on_control(job, echo, true).empty());
  EXPECT_TRUE(relay_.on_control(job, "", true).empty());  // a clear
  EXPECT_EQ(sent_.size(), 1u);
}

}  // namespace
}  // namespace progress::bridge

namespace progress::bridge {
namespace {

TEST_F(CancelRelayTest, FollowsTheRequestsOfAStoreHeldBeforeIt) {
  job_store restored;
  restored.apply(job, state(job_status::in_progress, 1), 1000);
  restored.annotate(job, [](job_annotations& notes) {
    notes.cancel_requested = cancel_mark{"c-9", "alice", 9};
  });
  cancel_relay relay{restored, [this](const std::string& t, const std::string& payload, auto done) {
                       sent_.push_back({t, payload, std::move(done)});
                       return true;
                     }};
  for (const auto& held : restored.snapshot().jobs) relay.follow(*held);
  relay.observe(restored.apply(job, state(job_status::cancelled, 2), 2000));
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].payload, "");
}

}  // namespace
}  // namespace progress::bridge
