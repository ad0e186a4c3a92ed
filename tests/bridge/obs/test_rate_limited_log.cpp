#include "rate_limited_log.hpp"

#include <memory>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

namespace progress::bridge {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

std::shared_ptr<spdlog::logger> string_logger(std::ostringstream& out) {
  auto logger =
      std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
  logger->set_pattern("%v");
  return logger;
}

TEST(RateLimitedLog, AllowsTheBudgetThenReportsWhatItSuppressed) {
  rate_limited_log log{3, 10s};
  const auto t0 = rate_limited_log::clock::time_point{} + 1h;
  for (int i = 0; i < 3; ++i) {
    const auto a = log.admit("kind", t0 + std::chrono::seconds{i});
    EXPECT_TRUE(a.allowed);
    EXPECT_EQ(a.suppressed, 0u);
  }
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(log.admit("kind", t0 + 9s).allowed);

  const auto next = log.admit("kind", t0 + 10s);
  EXPECT_TRUE(next.allowed);
  EXPECT_EQ(next.suppressed, 5u);
  // The summary is given once.
  EXPECT_EQ(log.admit("kind", t0 + 11s).suppressed, 0u);
}

TEST(RateLimitedLog, ZeroBudgetStillLetsOneLineThrough) {
  rate_limited_log log{0, 10s};
  const auto t0 = rate_limited_log::clock::time_point{} + 1h;
  EXPECT_TRUE(log.admit("kind", t0).allowed);
  EXPECT_FALSE(log.admit("kind", t0).allowed);
}

TEST(RateLimitedLog, WritesLinesAndTheSummary) {
  std::ostringstream out;
  rate_limited_log log{2, 1h, string_logger(out)};
  for (int i = 0; i < 5; ++i) log.log("bad_message", spdlog::level::warn, "bad message {}", i);

  const auto text = out.str();
  EXPECT_THAT(text, HasSubstr("bad message 0"));
  EXPECT_THAT(text, HasSubstr("bad message 1"));
  EXPECT_THAT(text, Not(HasSubstr("bad message 2")));
  EXPECT_THAT(text, Not(HasSubstr("suppressed")));  // reported when the next window opens
}

TEST(RateLimitedLog, EachKindHasItsOwnBudget) {
  rate_limited_log log{2, 10s};
  const auto t0 = rate_limited_log::clock::time_point{} + 1h;
  for (int i = 0; i < 100; ++i) (void)log.admit("flood", t0);
  EXPECT_TRUE(log.admit("other_event", t0).allowed) << "a flood of one kind silences no other";
  EXPECT_TRUE(log.admit("other_event", t0).allowed);
  EXPECT_FALSE(log.admit("other_event", t0).allowed);
}

TEST(RateLimitedLog, KindsBeyondTheGuardShareOneBudget) {
  rate_limited_log log{1, 10s};
  const auto t0 = rate_limited_log::clock::time_point{} + 1h;
  for (std::size_t i = 0; i < rate_limited_log::max_kinds; ++i)
    (void)log.admit("kind-" + std::to_string(i), t0);
  EXPECT_TRUE(log.admit("one-too-many", t0).allowed);
  EXPECT_FALSE(log.admit("and-another", t0).allowed);
}

TEST(RateLimitedLog, FlushReportsAFloodThatStopped) {
  std::ostringstream out;
  rate_limited_log log{1, 10s, string_logger(out)};
  const auto t0 = rate_limited_log::clock::time_point{} + 1h;
  for (int i = 0; i < 5; ++i) (void)log.admit("accept", t0);
  log.flush(t0 + 5s);
  EXPECT_THAT(out.str(), Not(HasSubstr("suppressed"))) << "the window has not ended yet";
  log.flush(t0 + 10s);
  EXPECT_THAT(out.str(), HasSubstr("suppressed 4 'accept' log lines"));
  out.str("");
  log.flush(t0 + 30s);
  EXPECT_EQ(out.str(), "") << "told once";
}

TEST(RateLimitedLog, LinesBelowTheLevelCostNothing) {
  std::ostringstream out;
  auto logger = string_logger(out);
  logger->set_level(spdlog::level::info);
  rate_limited_log log{1, 1h, logger};
  for (int i = 0; i < 5; ++i) log.log("read", spdlog::level::debug, "detail {}", i);
  log.log("read", spdlog::level::warn, "shown");
  EXPECT_THAT(out.str(), HasSubstr("shown"));
  EXPECT_THAT(out.str(), Not(HasSubstr("detail")));
}

}  // namespace
}  // namespace progress::bridge
