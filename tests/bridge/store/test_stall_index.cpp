#include "stall_index.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace progress::bridge {
namespace {

job_key key(std::string user, std::string job) {
  return job_key{std::move(user), std::move(job)};
}

std::shared_ptr<const stored_job> unfinished(job_key key, std::optional<std::string> worker_id) {
  auto job = std::make_shared<stored_job>();
  job->key = std::move(key);
  job->facts.status = job_status::in_progress;
  job->facts.worker_id = std::move(worker_id);
  return job;
}

// The index reads the worker from the job as the store holds it.
void track(stall_index& index, job_key key, std::optional<std::string> worker_id,
           std::optional<std::int64_t> silent_at_ms) {
  index.track(unfinished(std::move(key), std::move(worker_id)), silent_at_ms);
}

TEST(StallIndex, FindsTheJobsOfAWorker) {
  stall_index index;
  track(index, key("alice", "a"), "w1", 100);
  track(index, key("bob", "b"), "w1", 200);
  track(index, key("carol", "c"), "w2", 300);
  track(index, key("dave", "d"), std::nullopt, 400);

  EXPECT_EQ(index.jobs_of("w1"), (std::vector{key("alice", "a"), key("bob", "b")}));
  EXPECT_EQ(index.jobs_of("w2"), (std::vector{key("carol", "c")}));
  EXPECT_TRUE(index.jobs_of("w3").empty());
  EXPECT_EQ(index.size(), 4u);
}

TEST(StallIndex, AJobThatChangesWorkerMovesWithIt) {
  stall_index index;
  track(index, key("alice", "a"), "w1", 100);
  track(index, key("alice", "a"), "w2", 150);
  EXPECT_TRUE(index.jobs_of("w1").empty());
  EXPECT_EQ(index.jobs_of("w2"), (std::vector{key("alice", "a")}));
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(index.watched(), 1u);
}

TEST(StallIndex, TakesTheSilentJobsEarliestFirstAndOnlyOnce) {
  stall_index index;
  track(index, key("alice", "late"), "w1", 300);
  track(index, key("alice", "early"), "w1", 100);
  track(index, key("alice", "middle"), std::nullopt, 200);

  EXPECT_TRUE(index.take_silent(99, 10).empty());
  EXPECT_EQ(index.take_silent(200, 10), (std::vector{key("alice", "early"), key("alice", "middle")}));
  EXPECT_TRUE(index.take_silent(200, 10).empty());  // taken: not silent twice
  EXPECT_EQ(index.watched(), 1u);
  // Still tracked by worker: an offline worker stalls a silent job too.
  EXPECT_EQ(index.jobs_of("w1"), (std::vector{key("alice", "early"), key("alice", "late")}));
}

TEST(StallIndex, AnUpdatePushesTheSilenceBack) {
  stall_index index;
  track(index, key("alice", "a"), "w1", 100);
  track(index, key("alice", "a"), "w1", 500);  // the job sent an update
  EXPECT_TRUE(index.take_silent(400, 10).empty());
  EXPECT_EQ(index.take_silent(500, 10), (std::vector{key("alice", "a")}));
}

TEST(StallIndex, TakesAtMostTheLimitAndLeavesTheRestForLater) {
  stall_index index;
  for (int i = 0; i < 5; ++i) track(index, key("alice", "j" + std::to_string(i)), std::nullopt, i);
  EXPECT_EQ(index.take_silent(100, 2).size(), 2u);
  EXPECT_EQ(index.take_silent(100, 10).size(), 3u);
}

TEST(StallIndex, AStalledJobWaitsForNoSilence) {
  stall_index index;
  track(index, key("alice", "a"), "w1", std::nullopt);
  EXPECT_EQ(index.watched(), 0u);
  EXPECT_TRUE(index.take_silent(1'000'000, 10).empty());
  EXPECT_EQ(index.jobs_of("w1"), (std::vector{key("alice", "a")}));
}

TEST(StallIndex, ForgetsJobsEverywhere) {
  stall_index index;
  track(index, key("alice", "a"), "w1", 100);
  index.forget(key("alice", "a"));
  index.forget(key("alice", "never-tracked"));
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.watched(), 0u);
  EXPECT_TRUE(index.jobs_of("w1").empty());
  EXPECT_TRUE(index.take_silent(1000, 10).empty());
}

TEST(StallIndex, JobsSilentAtTheSameTimeComeInKeyOrder) {
  stall_index index;
  track(index, key("carol", "c"), "w1", 100);
  track(index, key("alice", "a"), "w1", 100);
  track(index, key("bob", "b"), "w2", 100);
  EXPECT_EQ(index.take_silent(100, 10), (std::vector{key("alice", "a"), key("bob", "b"), key("carol", "c")}));
}

TEST(StallIndex, AJobThatLosesItsWorkerLeavesTheWorkersList) {
  stall_index index;
  track(index, key("alice", "a"), "w1", 100);
  track(index, key("alice", "b"), "w1", 100);
  track(index, key("alice", "a"), std::nullopt, 200);
  EXPECT_EQ(index.jobs_of("w1"), (std::vector{key("alice", "b")}));
  index.forget(key("alice", "b"));
  EXPECT_TRUE(index.jobs_of("w1").empty());
  track(index, key("alice", "a"), "w1", 300);  // the worker comes back
  EXPECT_EQ(index.jobs_of("w1"), (std::vector{key("alice", "a")}));
  EXPECT_EQ(index.size(), 1u);
}

TEST(StallIndex, HoldsOnlyTheNewestStateOfAJob) {
  stall_index index;
  auto first = unfinished(key("alice", "a"), "w1");
  const std::weak_ptr<const stored_job> first_held = first;
  index.track(std::move(first), 100);
  index.track(unfinished(key("alice", "a"), "w1"), 200);
  EXPECT_TRUE(first_held.expired());  // the state the store replaced is not kept alive here
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(index.take_silent(200, 10), (std::vector{key("alice", "a")}));
}

// Many jobs, tracked, moved, forgotten and taken at random: the index gives
// what a plain ordered list of (time, key) gives, worker by worker too.
TEST(StallIndex, AgreesWithAPlainListUnderRandomChanges) {
  stall_index index;
  std::map<job_key, std::pair<std::optional<std::int64_t>, std::string>> expected;  // silent at, worker
  std::mt19937 random{7};
  const auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  std::int64_t now = 0;
  for (int step = 0; step < 20000; ++step) {
    const auto job = key("u" + std::to_string(pick(5)), "j" + std::to_string(pick(60)));
    const auto action = pick(10);
    if (action < 6) {
      const auto worker = "w" + std::to_string(pick(4));
      const std::optional<std::int64_t> at =
          pick(8) == 0 ? std::nullopt : std::optional<std::int64_t>{now + pick(50)};
      track(index, job, worker, at);
      expected[job] = {at, worker};
    } else if (action < 8) {
      index.forget(job);
      expected.erase(job);
    } else {
      now += pick(5);
      const auto limit = static_cast<std::size_t>(1 + pick(6));
      std::vector<std::pair<std::int64_t, job_key>> due;
      for (const auto& [k, tracked] : expected) {
        if (tracked.first && *tracked.first <= now) due.emplace_back(*tracked.first, k);
      }
      std::sort(due.begin(), due.end());
      if (due.size() > limit) due.resize(limit);
      std::vector<job_key> want;
      for (const auto& [at, k] : due) {
        want.push_back(k);
        expected[k].first.reset();
      }
      ASSERT_EQ(index.take_silent(now, limit), want) << "step " << step;
    }
    ASSERT_EQ(index.size(), expected.size());
  }
  std::size_t watched = 0;
  std::map<std::string, std::vector<job_key>> by_worker;
  for (const auto& [k, tracked] : expected) {
    if (tracked.first) ++watched;
    by_worker[tracked.second].push_back(k);
  }
  EXPECT_EQ(index.watched(), watched);
  for (const auto& [worker, jobs] : by_worker) EXPECT_EQ(index.jobs_of(worker), jobs) << worker;
}

}  // namespace
}  // namespace progress::bridge
