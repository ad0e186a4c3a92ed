// The byte budgets of job_store, with job states of about 60 KB each.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "job_store.hpp"

namespace progress::bridge {
namespace {

constexpr std::size_t kib = 1024;
constexpr std::size_t mib = 1024 * kib;

// An in-progress state whose `details` carry `size` bytes.
job_state big_state(std::int64_t seq, std::size_t size = 60 * kib,
                    job_status status = job_status::in_progress) {
  job_state s;
  s.status = status;
  s.seq = seq;
  s.attempt = 1;
  s.details = nlohmann::json{{"blob", std::string(size, 'x')}};
  return s;
}

job_key key(const std::string& user, const std::string& job) {
  return job_key{user, job};
}

std::size_t history_size(const job_store& store, const job_key& k) {
  const auto events = store.history(k);
  return events ? events->size() : 0;
}

TEST(JobStoreBudgets, DefaultsBoundTwentyJobsOfAHundredLargeEvents) {
  job_store store;
  for (int seq = 1; seq <= 100; ++seq) {
    for (int job = 0; job < 20; ++job) {
      ASSERT_TRUE(
          is_change(store.apply(key("alice", "j" + std::to_string(job)), big_state(seq), seq).outcome));
    }
  }
  // 1 MiB of history per job: 20 jobs stay near 20 MiB instead of 120 MB.
  EXPECT_LE(store.bytes(), 20 * (mib + 61 * kib));
  for (int job = 0; job < 20; ++job) {
    const auto k = key("alice", "j" + std::to_string(job));
    EXPECT_EQ(store.find(k)->facts.seq, 100);
    EXPECT_GE(history_size(store, k), 15u);
    EXPECT_LE(history_size(store, k), 17u);
  }
}

TEST(JobStoreBudgets, AJobsHistoryKeepsItsNewestEventsWithinItsBudget) {
  job_store store{store_limits{.history_bytes_per_job = 200 * kib}};
  const auto k = key("alice", "big");
  apply_result last;
  for (int seq = 1; seq <= 10; ++seq) last = store.apply(k, big_state(seq), seq);
  const auto events = *store.history(k);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events.front()->seq, 8);
  EXPECT_EQ(events.back()->seq, 10);
  ASSERT_TRUE(last.event);
  EXPECT_EQ(last.event->seq, 10);
  ASSERT_EQ(last.trimmed.size(), 1u);
  EXPECT_EQ(last.trimmed[0].key, k);
  EXPECT_EQ(last.trimmed[0].first_seq, 8);
}

TEST(JobStoreBudgets, TheLatestStateStaysEvenWhenItAloneIsOverTheJobsBudget) {
  job_store store{store_limits{.history_bytes_per_job = 10 * kib}};
  const auto k = key("alice", "huge");
  ASSERT_EQ(store.apply(k, big_state(1), 1).outcome, apply_outcome::accepted);
  ASSERT_EQ(store.apply(k, big_state(2), 2).outcome, apply_outcome::accepted);
  ASSERT_EQ(history_size(store, k), 1u);
  EXPECT_EQ(store.history(k)->front()->seq, 2);
}

TEST(JobStoreBudgets, AUsersBudgetDropsTheOldestEventsOfHerJobsFirst) {
  job_store store{store_limits{.bytes_per_user = 1 * mib}};
  const auto old_job = key("alice", "old");
  const auto new_job = key("alice", "new");
  for (int seq = 1; seq <= 5; ++seq)
    ASSERT_TRUE(is_change(store.apply(old_job, big_state(seq), seq).outcome));
  for (int seq = 1; seq <= 12; ++seq) {
    ASSERT_TRUE(is_change(store.apply(new_job, big_state(seq), 100 + seq).outcome));
  }
  EXPECT_LE(store.bytes(), 1 * mib);
  // The old job's events were the oldest: they went, the new job's stayed.
  EXPECT_LT(history_size(store, old_job), 5u);
  EXPECT_EQ(store.find(old_job)->facts.seq, 5);
  EXPECT_EQ(history_size(store, new_job), 12u);

  // Bob's jobs are not alice's budget.
  for (int seq = 1; seq <= 5; ++seq)
    ASSERT_TRUE(is_change(store.apply(key("bob", "b"), big_state(seq), seq).outcome));
  EXPECT_EQ(history_size(store, key("bob", "b")), 5u);
}

TEST(JobStoreBudgets, TheTotalBudgetTrimsEveryonesOldestEvents) {
  job_store store{store_limits{.max_bytes = 1 * mib}};
  for (int seq = 1; seq <= 8; ++seq)
    ASSERT_TRUE(is_change(store.apply(key("alice", "a"), big_state(seq), seq).outcome));
  for (int seq = 1; seq <= 8; ++seq)
    ASSERT_TRUE(is_change(store.apply(key("bob", "b"), big_state(seq), 10 + seq).outcome));
  EXPECT_LE(store.bytes(), 1 * mib);
  // Alice's events are older than all of Bob's: hers go first.
  EXPECT_LT(history_size(store, key("alice", "a")), 8u);
  EXPECT_EQ(history_size(store, key("bob", "b")), 8u);
  EXPECT_EQ(store.find(key("alice", "a"))->facts.seq, 8);
}

TEST(JobStoreBudgets, FinishedJobsGoAfterHistoryAndANewRunningJobIsRefusedLast) {
  // Room for four jobs of one 60 KB state each (a state counts twice).
  job_store store{store_limits{.bytes_per_user = 4 * 2 * 61 * kib}};
  const auto done = key("alice", "done");
  ASSERT_TRUE(is_change(store.apply(done, big_state(1, 60 * kib, job_status::completed), 1).outcome));
  for (int job = 0; job < 3; ++job) {
    ASSERT_TRUE(is_change(store.apply(key("alice", "run" + std::to_string(job)), big_state(1), 2).outcome));
  }
  // A fifth job: the finished one makes room.
  const auto fifth = store.apply(key("alice", "run3"), big_state(1), 3);
  ASSERT_EQ(fifth.outcome, apply_outcome::accepted);
  ASSERT_EQ(fifth.evicted.size(), 1u);
  EXPECT_EQ(fifth.evicted[0].key, done);
  EXPECT_FALSE(store.find(done));

  // A sixth with only running jobs left: refused.
  EXPECT_EQ(store.apply(key("alice", "run4"), big_state(1), 4).outcome, apply_outcome::over_capacity);
  // Updates of stored jobs are still accepted, keeping only their latest state.
  const auto update = store.apply(key("alice", "run0"), big_state(2), 5);
  EXPECT_EQ(update.outcome, apply_outcome::accepted);
  EXPECT_EQ(history_size(store, key("alice", "run0")), 1u);
}

TEST(JobStoreBudgets, RemovalsAndExpiriesGiveTheirBytesBack) {
  job_store store{store_limits{.finished_ttl = std::chrono::milliseconds{10}}};
  ASSERT_TRUE(is_change(store.apply(key("alice", "a"), big_state(1), 1).outcome));
  ASSERT_TRUE(is_change(store.apply(key("alice", "a"), big_state(2), 2).outcome));
  ASSERT_TRUE(is_change(store.apply(key("bob", "b"), big_state(1, 1000, job_status::failed), 3).outcome));
  EXPECT_GT(store.bytes(), 120 * kib);
  ASSERT_EQ(store.remove(key("alice", "a")).outcome, apply_outcome::removed);
  EXPECT_LT(store.bytes(), 4 * kib);
  ASSERT_EQ(store.expire(100).size(), 1u);
  EXPECT_EQ(store.bytes(), 0u);
}

TEST(JobStoreBudgets, ANewAttemptReportsItsHistoryRestarted) {
  job_store store;
  const auto k = key("alice", "retry");
  ASSERT_TRUE(is_change(store.apply(k, big_state(1, 10), 1).outcome));
  ASSERT_TRUE(is_change(store.apply(k, big_state(2, 10), 2).outcome));
  auto retry = big_state(1, 10);
  retry.attempt = 2;
  const auto result = store.apply(k, retry, 3);
  ASSERT_EQ(result.outcome, apply_outcome::new_attempt);
  ASSERT_EQ(result.trimmed.size(), 1u);
  EXPECT_EQ(result.trimmed[0].first_seq, result.event->seq);
  EXPECT_EQ(result.event->seq, 3);
}

}  // namespace
}  // namespace progress::bridge
