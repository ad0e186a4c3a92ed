// The hub-wide expiry sweep: a stream ends with token_expired once its token's
// deadline passed (never before), a valid one stays open, and a stream that
// ended is no longer watched.
#include "expiry_sweep.hpp"

#include <chrono>
#include <memory>

#include <gtest/gtest.h>

#include "fake_stream_transport.hpp"
#include "stream_session.hpp"

namespace progress::bridge {
namespace {

using namespace std::chrono_literals;
using fixtures::fake_stream_session;

class ExpirySweep : public ::testing::Test {
 protected:
  void TearDown() override {
    hub_->shutdown();
    ioc_.poll();
  }

  std::shared_ptr<fake_stream_session> open(std::chrono::system_clock::duration valid_for) {
    const principal who{"alice", false, std::chrono::system_clock::now() + valid_for};
    auto session = std::make_shared<fake_stream_session>(net::make_strand(ioc_), hub_, metrics_,
                                                         stream_framing::websocket, who,
                                                         stream_scope{who.user_id, {}, {}}, std::nullopt, "",
                                                         stream_options{.token_leeway = 0s});
    session->open();
    ioc_.poll();
    return session;
  }

  job_store store_{store_limits{}};
  metrics metrics_;
  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_{ioc_.get_executor()};
  std::shared_ptr<stream_hub> hub_ = std::make_shared<stream_hub>(ioc_, store_);
};

TEST_F(ExpirySweep, EndsAnExpiredStreamAndLeavesAValidOneOpen) {
  const auto opened = std::chrono::steady_clock::now();
  auto expiring = open(1200ms);
  auto valid = open(1h);
  EXPECT_EQ(hub_->expiry().watched(), 2U);
  EXPECT_FALSE(expiring->closed_for) << "closed before its token expired";

  while (!expiring->closed_for && std::chrono::steady_clock::now() - opened < 5s) ioc_.run_for(50ms);
  ASSERT_TRUE(expiring->closed_for) << "not closed within 5 s of opening";
  EXPECT_EQ(*expiring->closed_for, stream_end::token_expired);
  EXPECT_GE(std::chrono::steady_clock::now() - opened, 1200ms) << "closed before its deadline";
  EXPECT_FALSE(valid->closed_for) << "a valid token's stream was closed";
  EXPECT_EQ(hub_->expiry().watched(), 1U);
}

TEST_F(ExpirySweep, AStreamThatEndedIsNoLongerWatched) {
  auto session = open(1h);
  EXPECT_EQ(hub_->expiry().watched(), 1U);
  session->complete_write(net::error::connection_reset);  // the snapshot's write fails: the stream ends
  ioc_.poll();
  ASSERT_TRUE(session->closed_for);
  EXPECT_EQ(hub_->expiry().watched(), 0U);
}

TEST_F(ExpirySweep, AnAlreadyExpiredTokenEndsTheStreamAtOnceUnwatched) {
  auto session = open(-1s);
  ioc_.poll();
  ASSERT_TRUE(session->closed_for);
  EXPECT_EQ(*session->closed_for, stream_end::token_expired);
  EXPECT_EQ(hub_->expiry().watched(), 0U);
}

}  // namespace
}  // namespace progress::bridge
