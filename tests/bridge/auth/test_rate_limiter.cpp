#include "rate_limiter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace progress::bridge;
using namespace std::chrono_literals;

namespace {

const auto t0 = std::chrono::steady_clock::time_point{} + 1000s;

int allowed(rate_limiter& limiter, std::string_view key, int attempts,
            std::chrono::steady_clock::time_point at) {
  int n = 0;
  for (int i = 0; i < attempts; ++i) n += limiter.allow(key, at) ? 1 : 0;
  return n;
}

}  // namespace

TEST(rate_limiter, allows_a_burst_then_refuses) {
  rate_limiter limiter{1.0, 5.0, 100};
  EXPECT_EQ(allowed(limiter, "10.0.0.1", 10, t0), 5);
  EXPECT_FALSE(limiter.allow("10.0.0.1", t0));
}

TEST(rate_limiter, refills_at_the_configured_rate) {
  rate_limiter limiter{2.0, 4.0, 100};
  EXPECT_EQ(allowed(limiter, "alice", 4, t0), 4);
  EXPECT_FALSE(limiter.allow("alice", t0 + 400ms));  // 0.8 of a request regained
  EXPECT_TRUE(limiter.allow("alice", t0 + 500ms));
  EXPECT_FALSE(limiter.allow("alice", t0 + 500ms));
  EXPECT_EQ(allowed(limiter, "alice", 10, t0 + 1500ms), 2);
}

TEST(rate_limiter, refill_is_capped_at_the_burst) {
  rate_limiter limiter{10.0, 3.0, 100};
  EXPECT_EQ(allowed(limiter, "alice", 3, t0), 3);
  EXPECT_EQ(allowed(limiter, "alice", 10, t0 + 1h), 3);
}

TEST(rate_limiter, a_clock_stepping_back_does_not_refill) {
  rate_limiter limiter{1.0, 2.0, 100};
  EXPECT_EQ(allowed(limiter, "alice", 2, t0), 2);
  EXPECT_FALSE(limiter.allow("alice", t0 - 10s));
  EXPECT_FALSE(limiter.allow("alice", t0));
}

TEST(rate_limiter, keys_have_separate_buckets) {
  rate_limiter limiter{1.0, 2.0, 100};
  EXPECT_EQ(allowed(limiter, "alice", 5, t0), 2);
  EXPECT_EQ(allowed(limiter, "bob", 5, t0), 2);
  EXPECT_FALSE(limiter.allow("alice", t0));
  EXPECT_EQ(limiter.size(), 2U);
}

TEST(rate_limiter, never_tracks_more_than_max_keys) {
  rate_limiter limiter{1.0, 1.0, 3};
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(limiter.allow("client-" + std::to_string(i), t0));
    EXPECT_LE(limiter.size(), 3U);
  }
  EXPECT_EQ(limiter.size(), 3U);
}

TEST(rate_limiter, evicts_an_idle_key_before_a_busy_one) {
  rate_limiter limiter{1.0, 2.0, 2};
  EXPECT_EQ(allowed(limiter, "idle", 1, t0), 1);       // least recently used, refills by t0 + 1s
  EXPECT_EQ(allowed(limiter, "busy", 2, t0 + 1s), 2);  // drained
  EXPECT_TRUE(limiter.allow("new", t0 + 1s));
  EXPECT_EQ(limiter.size(), 2U);
  // "busy" kept its empty bucket; "idle" was dropped and so starts full.
  EXPECT_FALSE(limiter.allow("busy", t0 + 1s));
  EXPECT_EQ(allowed(limiter, "new", 5, t0 + 1s), 1);
}

TEST(rate_limiter, evicts_the_least_recently_used_when_none_is_idle) {
  rate_limiter limiter{1.0, 2.0, 2};
  EXPECT_EQ(allowed(limiter, "older", 2, t0), 2);
  EXPECT_EQ(allowed(limiter, "recent", 2, t0), 2);
  EXPECT_FALSE(limiter.allow("older", t0));  // use "older" again: "recent" is now the LRU
  EXPECT_TRUE(limiter.allow("new", t0));
  EXPECT_EQ(limiter.size(), 2U);
  EXPECT_FALSE(limiter.allow("older", t0));         // kept, still empty
  EXPECT_EQ(allowed(limiter, "recent", 5, t0), 2);  // dropped: a fresh burst
}

TEST(rate_limiter, non_positive_rate_disables_limiting) {
  for (double rate : {0.0, -1.0}) {
    rate_limiter limiter{rate, 0.0, 0};
    EXPECT_FALSE(limiter.enabled());
    EXPECT_EQ(allowed(limiter, "alice", 1000, t0), 1000);
    EXPECT_EQ(limiter.size(), 0U);
  }
}

TEST(rate_limiter, refuses_a_useless_configuration) {
  EXPECT_THROW(rate_limiter(1.0, 0.5, 10), std::invalid_argument);
  EXPECT_THROW(rate_limiter(1.0, 5.0, 0), std::invalid_argument);
  EXPECT_THROW(rate_limiter(std::numeric_limits<double>::infinity(), 5.0, 10), std::invalid_argument);
  EXPECT_THROW(rate_limiter(1.0, std::numeric_limits<double>::quiet_NaN(), 10), std::invalid_argument);
}

TEST(rate_limiter, concurrent_callers_share_one_bucket) {
  rate_limiter limiter{1.0, 100.0, 10};
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] { granted += allowed(limiter, "shared", 50, t0); });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(granted.load(), 100);
}
