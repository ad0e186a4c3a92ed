#include "heard_jobs.hpp"

#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace progress::bridge {
namespace {

std::shared_ptr<const stored_job> held(std::string user, std::string job) {
  auto state = std::make_shared<stored_job>();
  state->key = job_key{std::move(user), std::move(job)};
  return state;
}

TEST(HeardJobs, KnowsTheJobsItHeardByTheirKeys) {
  heard_jobs heard{10};
  EXPECT_FALSE(heard.contains(job_key{"alice", "a"}));
  ASSERT_TRUE(heard.add(held("alice", "a")));
  ASSERT_TRUE(heard.add(held("bob", "a")));
  EXPECT_TRUE(heard.contains(job_key{"alice", "a"}));
  EXPECT_TRUE(heard.contains(job_key{"bob", "a"}));
  EXPECT_FALSE(heard.contains(job_key{"alice", "b"}));
  EXPECT_EQ(heard.size(), 2u);
}

TEST(HeardJobs, KeepsOnlyTheNewestStateOfAJob) {
  heard_jobs heard{10};
  auto first = held("alice", "a");
  const std::weak_ptr<const stored_job> first_held = first;
  ASSERT_TRUE(heard.add(std::move(first)));
  ASSERT_TRUE(heard.add(held("alice", "a")));
  EXPECT_TRUE(first_held.expired());
  EXPECT_EQ(heard.size(), 1u);
}

TEST(HeardJobs, RefusesAJobPastItsLimitButNotOneItHolds) {
  heard_jobs heard{2};
  ASSERT_TRUE(heard.add(held("alice", "a")));
  ASSERT_TRUE(heard.add(held("alice", "b")));
  EXPECT_FALSE(heard.add(held("alice", "c")));
  EXPECT_TRUE(heard.add(held("alice", "a")));
  EXPECT_FALSE(heard.contains(job_key{"alice", "c"}));
}

TEST(HeardJobs, ClearForgetsEverythingAndStartsOver) {
  heard_jobs heard{1000};
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(heard.add(held("alice", "j" + std::to_string(i))));
  heard.clear();
  EXPECT_EQ(heard.size(), 0u);
  EXPECT_FALSE(heard.contains(job_key{"alice", "j1"}));
  ASSERT_TRUE(heard.add(held("alice", "j1")));  // the pool serves the next replay
  EXPECT_TRUE(heard.contains(job_key{"alice", "j1"}));
}

}  // namespace
}  // namespace progress::bridge
