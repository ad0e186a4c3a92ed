#include "stall_index.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace progress::bridge {
namespace {

job_key key(std::string user, std::string job) {
  return job_key{std::move(user), std::move(job)};
}

TEST(StallIndex, FindsTheJobsOfAWorker) {
  stall_index index;
  index.track(key("alice", "a"), "w1", 100);
  index.track(key("bob", "b"), "w1", 200);
  index.track(key("carol", "c"), "w2", 300);
  index.track(key("dave", "d"), std::nullopt, 400);

  EXPECT_EQ(index.jobs_of("w1"), (std::vector{key("alice", "a"), key("bob", "b")}));
  EXPECT_EQ(index.jobs_of("w2"), (std::vector{key("carol", "c")}));
  EXPECT_TRUE(index.jobs_of("w3").empty());
  EXPECT_EQ(index.size(), 4u);
}

TEST(StallIndex, AJobThatChangesWorkerMovesWithIt) {
  stall_index index;
  index.track(key("alice", "a"), "w1", 100);
  index.track(key("alice", "a"), "w2", 150);
  EXPECT_TRUE(index.jobs_of("w1").empty());
  EXPECT_EQ(index.jobs_of("w2"), (std::vector{key("alice", "a")}));
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(index.watched(), 1u);
}

TEST(StallIndex, TakesTheSilentJobsEarliestFirstAndOnlyOnce) {
  stall_index index;
  index.track(key("alice", "late"), "w1", 300);
  index.track(key("alice", "early"), "w1", 100);
  index.track(key("alice", "middle"), std::nullopt, 200);

  EXPECT_TRUE(index.take_silent(99, 10).empty());
  EXPECT_EQ(index.take_silent(200, 10), (std::vector{key("alice", "early"), key("alice", "middle")}));
  EXPECT_TRUE(index.take_silent(200, 10).empty());  // taken: not silent twice
  EXPECT_EQ(index.watched(), 1u);
  // Still tracked by worker: an offline worker stalls a silent job too.
  EXPECT_EQ(index.jobs_of("w1"), (std::vector{key("alice", "early"), key("alice", "late")}));
}

TEST(StallIndex, AnUpdatePushesTheSilenceBack) {
  stall_index index;
  index.track(key("alice", "a"), "w1", 100);
  index.track(key("alice", "a"), "w1", 500);  // the job sent an update
  EXPECT_TRUE(index.take_silent(400, 10).empty());
  EXPECT_EQ(index.take_silent(500, 10), (std::vector{key("alice", "a")}));
}

TEST(StallIndex, TakesAtMostTheLimitAndLeavesTheRestForLater) {
  stall_index index;
  for (int i = 0; i < 5; ++i) index.track(key("alice", "j" + std::to_string(i)), std::nullopt, i);
  EXPECT_EQ(index.take_silent(100, 2).size(), 2u);
  EXPECT_EQ(index.take_silent(100, 10).size(), 3u);
}

TEST(StallIndex, AStalledJobWaitsForNoSilence) {
  stall_index index;
  index.track(key("alice", "a"), "w1", std::nullopt);
  EXPECT_EQ(index.watched(), 0u);
  EXPECT_TRUE(index.take_silent(1'000'000, 10).empty());
  EXPECT_EQ(index.jobs_of("w1"), (std::vector{key("alice", "a")}));
}

TEST(StallIndex, ForgetsJobsEverywhere) {
  stall_index index;
  index.track(key("alice", "a"), "w1", 100);
  index.forget(key("alice", "a"));
  index.forget(key("alice", "never-tracked"));
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.watched(), 0u);
  EXPECT_TRUE(index.jobs_of("w1").empty());
  EXPECT_TRUE(index.take_silent(1000, 10).empty());
}

TEST(StallIndex, JobsSilentAtTheSameTimeComeInKeyOrder) {
  stall_index index;
  index.track(key("carol", "c"), "w1", 100);
  index.track(key("alice", "a"), "w1", 100);
  index.track(key("bob", "b"), "w2", 100);
  EXPECT_EQ(index.take_silent(100, 10), (std::vector{key("alice", "a"), key("bob", "b"), key("carol", "c")}));
}

TEST(StallIndex, AJobThatLosesItsWorkerLeavesTheWorkersList) {
  stall_index index;
  index.track(key("alice", "a"), "w1", 100);
  index.track(key("alice", "b"), "w1", 100);
  index.track(key("alice", "a"), std::nullopt, 200);
  EXPECT_EQ(index.jobs_of("w1"), (std::vector{key("alice", "b")}));
  index.forget(key("alice", "b"));
  EXPECT_TRUE(index.jobs_of("w1").empty());
  index.track(key("alice", "a"), "w1", 300);  // the worker comes back
  EXPECT_EQ(index.jobs_of("w1"), (std::vector{key("alice", "a")}));
  EXPECT_EQ(index.size(), 1u);
}

}  // namespace
}  // namespace progress::bridge
