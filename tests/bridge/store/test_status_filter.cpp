#include "status_filter.hpp"

#include <gtest/gtest.h>

namespace progress::bridge {
namespace {

TEST(StatusFilter, AnyMatchesEverything) {
  const status_filter filter;
  for (auto status : {job_status::queued, job_status::started, job_status::in_progress, job_status::completed,
                      job_status::failed, job_status::cancelled}) {
    EXPECT_TRUE(filter.matches(status));
  }
}

TEST(StatusFilter, ParsesGroupsAndStatuses) {
  const auto active = status_filter::parse("active");
  ASSERT_TRUE(active);
  EXPECT_TRUE(active->matches(job_status::queued));
  EXPECT_TRUE(active->matches(job_status::in_progress));
  EXPECT_FALSE(active->matches(job_status::failed));

  const auto terminal = status_filter::parse("terminal");
  ASSERT_TRUE(terminal);
  EXPECT_TRUE(terminal->matches(job_status::cancelled));
  EXPECT_FALSE(terminal->matches(job_status::started));

  const auto failed = status_filter::parse("failed");
  ASSERT_TRUE(failed);
  EXPECT_TRUE(failed->matches(job_status::failed));
  EXPECT_FALSE(failed->matches(job_status::completed));
}

TEST(StatusFilter, RejectsUnknownText) {
  EXPECT_FALSE(status_filter::parse(""));
  EXPECT_FALSE(status_filter::parse("done"));
  EXPECT_FALSE(status_filter::parse("ACTIVE"));
}

}  // namespace
}  // namespace progress::bridge
