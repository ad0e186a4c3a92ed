#include "open_file_limit.hpp"

#include <sys/resource.h>

#include <cstdlib>

#include <gtest/gtest.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace progress::bridge {
namespace {

// Each case runs in a child process (a death test): it changes the process's
// limits, the hard one irreversibly.
void set_limits(rlim_t soft, rlim_t hard) {
  spdlog::set_default_logger(spdlog::stderr_logger_st("stderr"));
  const rlimit limit{soft, hard};
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) std::exit(3);
}

rlim_t soft_limit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

TEST(BridgeOpenFileLimit, RaisesTheSoftLimitToWhatTheConnectionsNeed) {
  EXPECT_EXIT(
      {
        set_limits(200, 5000);
        const auto budget = fit_open_file_limit(1000);
        std::exit(
            budget.max_connections == 1000 && soft_limit() == 1000 + descriptors_besides_connections ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "open-file limit raised from 200 to 1064");
}

TEST(BridgeOpenFileLimit, ServesFewerConnectionsWhenTheHardLimitIsTooLow) {
  EXPECT_EXIT(
      {
        set_limits(100, 300);
        const auto budget = fit_open_file_limit(1000);
        std::exit(budget.max_connections == 300 - descriptors_besides_connections && soft_limit() == 300 ? 0
                                                                                                         : 1);
      },
      ::testing::ExitedWithCode(0), "open-file limit 300 .* serving at most 236 connections");
}

TEST(BridgeOpenFileLimit, LeavesAnAmpleLimitAlone) {
  EXPECT_EXIT(
      {
        set_limits(4096, 4096);
        const auto budget = fit_open_file_limit(100);
        std::exit(budget.max_connections == 100 && soft_limit() == 4096 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(BridgeOpenFileLimit, NoRoomForConnectionsIsAnError) {
  EXPECT_EXIT(
      {
        set_limits(40, 40);
        std::exit(fit_open_file_limit(100).max_connections == 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "leaves no descriptor for connections");
}

}  // namespace
}  // namespace progress::bridge
