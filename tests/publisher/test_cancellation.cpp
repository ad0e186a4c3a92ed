// Cancellation requests on a job's control topic, over the fake transport.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "progress/publisher/cancel_request.hpp"
#include "publisher_fixture.hpp"

namespace progress::test {
namespace {

using namespace std::chrono_literals;

const std::string control = "users/alice/jobs/j1/control";

std::string cancel_payload(const std::string& request_id, const std::string& by = "alice") {
  return R"({"action":"cancel","requestId":")" + request_id + R"(","requestedBy":")" + by +
         R"(","timestamp":1795000000000})";
}

class cancellation_test : public publisher_fixture {
 protected:
  // Errors told to on_error, collected on the timer thread.
  publisher& make_reporting_publisher() {
    auto options = default_options();
    options.throttle_interval = 0ms;
    options.on_error = [this](const std::string& topic, const publish_error& error) {
      const std::lock_guard lock(mutex_);
      errors_.emplace_back(topic, error.code());
    };
    return make_publisher(options);
  }

  // The errors told so far, once there are `count` of them (or after 5 s).
  std::vector<std::pair<std::string, publish_errc>> errors(std::size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    for (;;) {
      {
        const std::lock_guard lock(mutex_);
        if (errors_.size() >= count || std::chrono::steady_clock::now() > deadline) return errors_;
      }
      std::this_thread::sleep_for(5ms);
    }
  }

  static job_options with_handler(cancel_handler handler) {
    job_options options;
    options.on_cancel = std::move(handler);
    return options;
  }

  std::mutex mutex_;
  std::vector<std::pair<std::string, publish_errc>> errors_;
};

TEST_F(cancellation_test, AJobFollowsItsControlTopicUntilItEnds) {
  auto& pub = make_reporting_publisher();
  auto j = pub.job("alice", "j1");
  EXPECT_EQ(transport_->subscriptions(), std::set<std::string>{control});
  j.start();
  j.progress(50);
  EXPECT_TRUE(transport_->subscriptions().contains(control));
  j.complete();
  EXPECT_TRUE(transport_->subscriptions().empty());
  // A new attempt runs the job again, and follows again.
  job_state retry;
  retry.status = job_status::started;
  retry.attempt = 2;
  j.update(retry);
  EXPECT_TRUE(transport_->subscriptions().contains(control));
  j.remove();
  EXPECT_TRUE(transport_->subscriptions().empty());
}

TEST_F(cancellation_test, ADestroyedHandleStopsFollowingAndSendOnlyHandlesNeverDo) {
  auto& pub = make_reporting_publisher();
  {
    auto j = pub.job("alice", "j1");
    EXPECT_FALSE(transport_->subscriptions().empty());
  }
  EXPECT_TRUE(transport_->subscriptions().empty());
  job_options send_only;
  send_only.follow_control = false;
  auto quiet = pub.job("alice", "j2", send_only);
  EXPECT_TRUE(transport_->subscriptions().empty());
  transport_->deliver("users/alice/jobs/j2/control", cancel_payload("r1"));
  EXPECT_FALSE(quiet.cancel_requested());
}

TEST_F(cancellation_test, EachRequestReachesTheHandlerOnce) {
  auto& pub = make_reporting_publisher();
  std::vector<cancel_request> seen;
  auto j = pub.job("alice", "j1", with_handler([&](const cancel_request& r) { seen.push_back(r); }));
  j.start();
  EXPECT_FALSE(j.cancel_requested());
  transport_->deliver(control, cancel_payload("r1"));
  transport_->deliver(control, cancel_payload("r1"));  // the retained request again, after a reconnect
  transport_->deliver(control, cancel_payload("r2", "ops"));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], (cancel_request{"r1", "alice", 1795000000000}));
  EXPECT_EQ(seen[1].requested_by, "ops");
  EXPECT_TRUE(j.cancel_requested());
  EXPECT_EQ(j.last_cancel_request()->request_id, "r2");
  // The worker decides: the SDK sent nothing on its own.
  EXPECT_EQ(transport_->sent_count(), 1u);
  j.cancel("Cancelled by alice");
  EXPECT_EQ(sent_json(1).at("status"), "cancelled");
}

TEST_F(cancellation_test, ARequestBeforeTheHandlerIsHandedToItWhenSet) {
  auto& pub = make_reporting_publisher();
  auto j = pub.job("alice", "j1");
  transport_->deliver(control, cancel_payload("early"));
  EXPECT_TRUE(j.cancel_requested());
  std::vector<std::string> ids;
  j.on_cancel([&](const cancel_request& r) { ids.push_back(r.request_id); });
  EXPECT_EQ(ids, std::vector<std::string>{"early"});
  transport_->deliver(control, cancel_payload("early"));
  transport_->deliver(control, cancel_payload("later"));
  EXPECT_EQ(ids, (std::vector<std::string>{"early", "later"}));
}

TEST_F(cancellation_test, MalformedMessagesAreReportedAndOtherActionsIgnored) {
  auto& pub = make_reporting_publisher();
  int calls = 0;
  auto j = pub.job("alice", "j1", with_handler([&](const cancel_request&) { ++calls; }));
  transport_->deliver(control, "not json");
  transport_->deliver(control, R"({"action":"cancel","requestedBy":"alice","timestamp":1})");
  transport_->deliver(control, R"({"action":"pause","requestId":"p1","requestedBy":"alice","timestamp":1})");
  transport_->deliver(control, "");  // cleared when the job ended
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(j.cancel_requested());
  const auto told = errors(2);
  ASSERT_EQ(told.size(), 2u);
  EXPECT_EQ(told[0], std::pair(control, publish_errc::invalid_control));
  EXPECT_EQ(told[1], std::pair(control, publish_errc::invalid_control));
}

TEST_F(cancellation_test, AThrowingHandlerDoesNotReachTheTransport) {
  auto& pub = make_reporting_publisher();
  auto j = pub.job("alice", "j1", with_handler([](const cancel_request&) { throw std::runtime_error("x"); }));
  EXPECT_NO_THROW(transport_->deliver(control, cancel_payload("r1")));
  EXPECT_TRUE(j.cancel_requested());
}

TEST_F(cancellation_test, HandlesOfOneJobShareOneSubscriptionAndEachHearsTheRequest) {
  auto& pub = make_reporting_publisher();
  auto first = pub.job("alice", "j1");
  auto second = pub.job("alice", "j1");
  EXPECT_EQ(transport_->subscribes(), 1);
  transport_->deliver(control, cancel_payload("r1"));
  EXPECT_TRUE(first.cancel_requested());
  EXPECT_TRUE(second.cancel_requested());
  first.cancel();
  EXPECT_TRUE(transport_->subscriptions().contains(control));  // second still runs
  second.cancel();
  EXPECT_TRUE(transport_->subscriptions().empty());
}

TEST_F(cancellation_test, ARefusedSubscriptionIsReported) {
  auto& pub = make_reporting_publisher();
  transport_->fail_subscribe_with(publish_error(publish_errc::rejected, "Not authorized (0x87)", 0x87));
  auto j = pub.job("alice", "j1");
  EXPECT_EQ(errors(1), (std::vector{std::pair(control, publish_errc::rejected)}));
}

}  // namespace
}  // namespace progress::test
