#include "progress/publisher/delivery.hpp"

#include <condition_variable>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

#include "publisher_fixture.hpp"

namespace progress::test {
namespace {

using namespace std::chrono_literals;
using delivery_test = publisher_fixture;

TEST(delivery_value_test, FailedDeliveryHoldsItsError) {
  const auto failed = delivery::failed(publish_error(publish_errc::rejected, "Not authorized (0x87)", 0x87));
  EXPECT_TRUE(failed.valid());
  EXPECT_TRUE(failed.is_ready());
  EXPECT_THROW(failed.wait(), publish_error);
  EXPECT_FALSE(delivery{}.valid());
}

TEST_F(delivery_test, ReadyOnlyOnceTheBrokerAcknowledged) {
  auto& pub = make_publisher();
  transport_->hold();
  auto j = pub.job("alice", "j1");
  const auto started = j.start();
  EXPECT_FALSE(started.wait_for(0ms));
  transport_->release();
  EXPECT_TRUE(started.is_ready());
  EXPECT_NO_THROW(started.wait());
}

TEST_F(delivery_test, BrokerRefusalReachesTheCaller) {
  auto& pub = make_publisher();
  transport_->fail_with(publish_error(publish_errc::rejected, "Not authorized (0x87)", 0x87));
  auto j = pub.job("alice", "j1");
  const auto started = j.start();
  try {
    started.wait();
    ADD_FAILURE() << "refused publish reported success";
  } catch (const publish_error& e) {
    EXPECT_EQ(e.code(), publish_errc::rejected);
    EXPECT_EQ(e.reason_code(), 0x87);
    EXPECT_STREQ(e.what(), "Not authorized (0x87)");
  }
}

TEST_F(delivery_test, ErrorCallbackHearsAboutFailuresOnTheTimerThread) {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::pair<std::string, int>> heard;
  auto options = default_options();
  options.on_error = [&](const std::string& topic, const publish_error& error) {
    const std::lock_guard lock(mutex);
    heard.emplace_back(topic, error.reason_code());
    changed.notify_all();
  };
  auto& pub = make_publisher(options);
  transport_->fail_with(publish_error(publish_errc::rejected, "Not authorized (0x87)", 0x87));
  auto j = pub.job("alice", "j1");
  EXPECT_THROW(j.start().wait(), publish_error);

  std::unique_lock lock(mutex);
  ASSERT_TRUE(changed.wait_for(lock, 10s, [&] { return !heard.empty(); }));
  EXPECT_EQ(heard.at(0).first, "users/alice/jobs/j1");
  EXPECT_EQ(heard.at(0).second, 0x87);
}

TEST_F(delivery_test, BufferLimitFailsTheNextPublishInsteadOfDroppingIt) {
  auto options = default_options();
  options.max_buffered = 2;
  options.throttle_interval = 0ms;
  auto& pub = make_publisher(options);
  transport_->hold();
  auto a = pub.job("alice", "a");
  const auto first = a.start();
  const auto second = a.progress(10);
  const auto third = a.progress(20);
  EXPECT_EQ(transport_->sent_count(), 2u);
  ASSERT_TRUE(third.is_ready());
  try {
    third.wait();
    ADD_FAILURE() << "publish beyond the buffer limit succeeded";
  } catch (const publish_error& e) {
    EXPECT_EQ(e.code(), publish_errc::buffer_full);
  }
  // Room again once the broker acknowledged.
  transport_->release();
  EXPECT_NO_THROW(first.wait());
  EXPECT_NO_THROW(second.wait());
  EXPECT_NO_THROW(a.progress(30).wait());
}

TEST_F(delivery_test, ConnectFailureStopsTheConstructor) {
  transport_->fail_connect_with(
      publish_error(publish_errc::rejected, "Bad user name or password (0x86)", 0x86));
  try {
    make_publisher();
    ADD_FAILURE() << "publisher constructed without a connection";
  } catch (const publish_error& e) {
    EXPECT_EQ(e.reason_code(), 0x86);
  }
}

}  // namespace
}  // namespace progress::test
