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

TEST(RateLimitedLog, AllowsTheBudgetThenReportsWhatItSuppressed) {
  rate_limited_log log{3, 10s};
  const auto t0 = rate_limited_log::clock::time_point{} + 1h;
  for (int i = 0; i < 3; ++i) {
    const auto a = log.admit(t0 + std::chrono::seconds{i});
    EXPECT_TRUE(a.allowed);
    EXPECT_EQ(a.suppressed, 0u);
  }
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(log.admit(t0 + 9s).allowed);

  const auto next = log.admit(t0 + 10s);
  EXPECT_TRUE(next.allowed);
  EXPECT_EQ(next.suppressed, 5u);
  // The summary is given once.
  EXPECT_EQ(log.admit(t0 + 11s).suppressed, 0u);
}

TEST(RateLimitedLog, ZeroBudgetStillLetsOneLineThrough) {
  rate_limited_log log{0, 10s};
  const auto t0 = rate_limited_log::clock::time_point{} + 1h;
  EXPECT_TRUE(log.admit(t0).allowed);
  EXPECT_FALSE(log.admit(t0).allowed);
}

TEST(RateLimitedLog, WritesLinesAndTheSummary) {
  std::ostringstream out;
  auto logger =
      std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
  logger->set_pattern("%v");
  rate_limited_log log{2, 1h, logger};
  for (int i = 0; i < 5; ++i) log.log(spdlog::level::warn, "bad message {}", i);

  const auto text = out.str();
  EXPECT_THAT(text, HasSubstr("bad message 0"));
  EXPECT_THAT(text, HasSubstr("bad message 1"));
  EXPECT_THAT(text, Not(HasSubstr("bad message 2")));
  EXPECT_THAT(text, Not(HasSubstr("suppressed")));  // reported when the next window opens
}

}  // namespace
}  // namespace progress::bridge
