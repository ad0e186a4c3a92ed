#include "progress/publisher/publisher.hpp"

#include <chrono>

#include <gtest/gtest.h>

#include "publisher_fixture.hpp"

namespace progress::test {
namespace {

using namespace std::chrono_literals;
using throttling_test = publisher_fixture;

TEST_F(throttling_test, UpdatesInsideTheIntervalAreCoalescedToTheLatest) {
  auto& pub = make_publisher();
  auto j = pub.job("alice", "j1");
  j.phase(1, 2, "Upload");
  const auto first = j.progress(10);
  clock_->advance(30ms);
  const auto second = j.progress(20);
  const auto third = j.progress(30, "almost");
  ASSERT_EQ(transport_->sent_count(), 1u);

  clock_->advance(50ms);  // 80 ms since the phase message
  pub.flush_due();
  EXPECT_EQ(transport_->sent_count(), 1u);
  EXPECT_FALSE(first.is_ready());

  clock_->advance(20ms);  // 100 ms
  pub.flush_due();
  ASSERT_EQ(transport_->sent_count(), 2u);
  const auto sent = sent_json(1);
  EXPECT_EQ(sent.at("progress"), 30.0);
  EXPECT_EQ(sent.at("message"), "almost");
  EXPECT_EQ(sent.at("seq"), 4);  // seq counts updates; coalesced ones leave gaps
  // The coalesced updates share the outcome of the message that carried them.
  EXPECT_TRUE(first.is_ready());
  EXPECT_TRUE(second.is_ready());
  EXPECT_NO_THROW(third.wait());
}

TEST_F(throttling_test, AnUpdateAfterAQuietIntervalGoesAtOnce) {
  auto& pub = make_publisher();
  auto j = pub.job("alice", "j1");
  j.phase(1, 2, "Upload");
  clock_->advance(100ms);
  j.progress(10);
  EXPECT_EQ(transport_->sent_count(), 2u);
  j.progress(20);
  EXPECT_EQ(transport_->sent_count(), 2u);
}

TEST_F(throttling_test, PhaseChangeSendsAtOnceAndSupersedesThePendingUpdate) {
  auto& pub = make_publisher();
  auto j = pub.job("alice", "j1");
  j.phase(1, 2, "Upload");
  const auto pending = j.progress(50);
  EXPECT_EQ(transport_->sent_count(), 1u);
  transport_->hold();
  const auto next_phase = j.phase(2, 2, "Verify");
  ASSERT_EQ(transport_->sent_count(), 2u);
  EXPECT_EQ(sent_json(1).at("phase"), 2);
  EXPECT_EQ(sent_json(1).at("progress"), 50.0);
  EXPECT_FALSE(pending.is_ready());
  transport_->release();
  EXPECT_TRUE(pending.is_ready());
  EXPECT_TRUE(next_phase.is_ready());
  // Nothing is left to send later.
  clock_->advance(1s);
  pub.flush_due();
  EXPECT_EQ(transport_->sent_count(), 2u);
}

TEST_F(throttling_test, TerminalStatesAndRemovalSendAtOnce) {
  auto& pub = make_publisher();
  auto j = pub.job("alice", "j1");
  j.start();
  j.progress(10);  // a new status: sent at once
  j.progress(99);
  EXPECT_EQ(transport_->sent_count(), 2u);
  j.complete();
  ASSERT_EQ(transport_->sent_count(), 3u);
  EXPECT_EQ(sent_json(2).at("status"), "completed");
  j.remove();
  EXPECT_EQ(transport_->sent_count(), 4u);
}

TEST_F(throttling_test, DestroyingAHandleFlushesItsPendingUpdate) {
  auto& pub = make_publisher();
  delivery last;
  {
    auto j = pub.job("alice", "j1");
    j.phase(1, 1, "Only");
    last = j.progress(70);
    EXPECT_EQ(transport_->sent_count(), 1u);
  }
  ASSERT_EQ(transport_->sent_count(), 2u);
  EXPECT_EQ(sent_json(1).at("progress"), 70.0);
  EXPECT_TRUE(last.is_ready());
}

TEST_F(throttling_test, MovingOntoAHandleFlushesTheOldJob) {
  auto& pub = make_publisher();
  auto j = pub.job("alice", "j1");
  j.phase(1, 2, "One");
  j.progress(70);
  j = pub.job("alice", "j2");
  ASSERT_EQ(transport_->sent_count(), 2u);
  EXPECT_EQ(transport_->sent().at(1).topic, "users/alice/jobs/j1");
}

TEST_F(throttling_test, CloseFlushesDisconnectsAndRefusesLaterUpdates) {
  auto& pub = make_publisher();
  auto j = pub.job("alice", "j1");
  j.phase(1, 2, "One");
  j.progress(10);
  EXPECT_EQ(transport_->connects(), 1);
  pub.close();
  ASSERT_EQ(transport_->sent_count(), 2u);
  EXPECT_EQ(transport_->disconnects(), 1);
  pub.close();
  EXPECT_EQ(transport_->disconnects(), 1);

  const auto late = j.progress(20);
  try {
    late.wait();
    ADD_FAILURE() << "update after close was accepted";
  } catch (const publish_error& e) {
    EXPECT_EQ(e.code(), publish_errc::closed);
  }
  EXPECT_EQ(transport_->sent_count(), 2u);
}

TEST_F(throttling_test, JobsAreThrottledIndependently) {
  auto& pub = make_publisher();
  auto a = pub.job("alice", "a");
  auto b = pub.job("bob", "b");
  a.phase(1, 2, "One");
  b.phase(1, 2, "One");
  a.progress(10);
  b.progress(20);
  EXPECT_EQ(transport_->sent_count(), 2u);
  clock_->advance(100ms);
  pub.flush_due();
  ASSERT_EQ(transport_->sent_count(), 4u);
}

TEST_F(throttling_test, ZeroIntervalSendsEveryUpdate) {
  auto options = default_options();
  options.throttle_interval = 0ms;
  auto& pub = make_publisher(options);
  auto j = pub.job("alice", "j1");
  j.start();
  for (int i = 1; i <= 5; ++i) j.progress(i * 10);
  EXPECT_EQ(transport_->sent_count(), 6u);
}

TEST(throttling_timer_test, TheTimerThreadSendsPendingUpdatesOnItsOwn) {
  auto transport = std::make_shared<fake_transport>();
  publisher_options options;
  options.worker_id = "worker-1";
  options.throttle_interval = 20ms;
  publisher pub(options, transport);  // the real clock
  auto j = pub.job("alice", "j1");
  j.start();
  const auto pending = j.progress(42);
  // No flush call: only the timer thread can send it.
  ASSERT_TRUE(pending.wait_for(10s));
  ASSERT_EQ(transport->sent_count(), 2u);
  EXPECT_EQ(nlohmann::json::parse(transport->sent().at(1).payload).at("progress"), 42.0);
}

}  // namespace
}  // namespace progress::test
