#include "stall_watch.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "job_fixtures.hpp"

namespace progress::bridge {
namespace {

using namespace std::chrono_literals;
using fixtures::state;

const job_key first{"alice", "first"};
const job_key second{"bob", "second"};
const job_key elsewhere{"alice", "elsewhere"};

constexpr auto offline = R"({"status":"offline","workerId":"w1","timestamp":1})";
constexpr auto online = R"({"status":"online","workerId":"w1","timestamp":2})";

// A store and a watch that sees every change, as job_lifecycle wires them.
class StallWatchTest : public ::testing::Test {
 protected:
  void update(const job_key& key, job_state s, std::int64_t now_ms) {
    watch_.observe(store_.apply(key, std::move(s), now_ms));
  }
  void update(const job_key& key, job_status status, std::int64_t seq, const char* worker,
              std::int64_t now_ms) {
    auto s = state(status, seq);
    if (worker != nullptr) s.worker_id = worker;
    update(key, std::move(s), now_ms);
  }
  std::vector<apply_result> seen(std::vector<apply_result> changes) {
    for (const auto& change : changes) watch_.observe(change);
    return changes;
  }
  std::optional<stall_mark> stalled(const job_key& key) const {
    const auto& mark = store_.find(key)->notes.stalled;
    return mark ? std::optional{*mark} : std::nullopt;
  }

  job_store store_;
  stall_watch watch_{store_, stall_options{.stall_after = 10s}};
};

TEST_F(StallWatchTest, AnOfflineWorkerStallsItsUnfinishedJobsAtOnce) {
  update(first, job_status::in_progress, 1, "w1", 1000);
  update(second, job_status::queued, 1, "w1", 1000);
  update(elsewhere, job_status::in_progress, 1, "w2", 1000);
  update({"alice", "done"}, job_status::completed, 1, "w1", 1000);

  const auto changes = seen(watch_.on_worker_status("w1", offline, 1500));
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(stalled(first), (stall_mark{stall_reason::worker_offline, 1500}));
  EXPECT_EQ(stalled(second), (stall_mark{stall_reason::worker_offline, 1500}));
  EXPECT_FALSE(stalled(elsewhere));
  EXPECT_TRUE(store_.find({"alice", "done"})->notes.empty());

  // Told twice, nothing changes twice.
  EXPECT_TRUE(watch_.on_worker_status("w1", offline, 1600).empty());
}

TEST_F(StallWatchTest, OnlineStatusesAndMalformedOnesStallNothing) {
  update(first, job_status::in_progress, 1, "w1", 1000);
  EXPECT_TRUE(watch_.on_worker_status("w1", online, 1500).empty());
  EXPECT_TRUE(watch_.on_worker_status("w1", "", 1500).empty());
  EXPECT_TRUE(watch_.on_worker_status("w1", "not json", 1500).empty());
  EXPECT_TRUE(watch_.on_worker_status("w1", R"({"status":"offline","workerId":"w2"})", 1500).empty());
  EXPECT_FALSE(stalled(first));
}

TEST_F(StallWatchTest, OnlyAnUpdateClearsTheMarkNotTheWorkerComingBack) {
  update(first, job_status::in_progress, 1, "w1", 1000);
  seen(watch_.on_worker_status("w1", offline, 1500));
  EXPECT_TRUE(seen(watch_.on_worker_status("w1", online, 1600)).empty());
  EXPECT_TRUE(stalled(first));

  update(first, job_status::in_progress, 2, "w1", 1700);
  EXPECT_FALSE(stalled(first));
  // And the job is watched again: it stalls when its worker goes offline once more.
  EXPECT_EQ(seen(watch_.on_worker_status("w1", offline, 1800)).size(), 1u);
}

TEST_F(StallWatchTest, ASilentJobStallsAfterTheStallTime) {
  update(first, job_status::in_progress, 1, nullptr, 1000);
  EXPECT_TRUE(seen(watch_.check(10'999)).empty());
  const auto changes = seen(watch_.check(11'000));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(stalled(first), (stall_mark{stall_reason::silent, 11'000}));
  EXPECT_TRUE(seen(watch_.check(100'000)).empty());  // once
}

TEST_F(StallWatchTest, AJobMaySetItsOwnStallTime) {
  auto quick = state(job_status::in_progress, 1);
  quick.stall_after_ms = 2000;
  update(first, quick, 1000);
  update(second, job_status::in_progress, 1, nullptr, 1000);
  const auto changes = seen(watch_.check(3000));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].key, first);
}

TEST_F(StallWatchTest, UpdatesKeepAJobFromFallingSilent) {
  update(first, job_status::in_progress, 1, nullptr, 1000);
  update(first, job_status::in_progress, 2, nullptr, 9000);
  EXPECT_TRUE(seen(watch_.check(12'000)).empty());
  EXPECT_EQ(seen(watch_.check(19'000)).size(), 1u);
}

TEST_F(StallWatchTest, FinishedAndRemovedJobsAreNoLongerWatched) {
  update(first, job_status::in_progress, 1, "w1", 1000);
  update(second, job_status::in_progress, 1, "w1", 1000);
  update(first, job_status::completed, 2, "w1", 2000);
  watch_.observe(store_.remove(second));
  EXPECT_EQ(watch_.index().size(), 0u);
  EXPECT_TRUE(watch_.on_worker_status("w1", offline, 3000).empty());
  EXPECT_TRUE(watch_.check(1'000'000).empty());
}

TEST_F(StallWatchTest, EvictedJobsAreForgotten) {
  job_store small{store_limits{.jobs_per_user = 1}};
  stall_watch watch{small, stall_options{}};
  auto running = state(job_status::in_progress, 1);
  running.worker_id = "w1";
  watch.observe(small.apply(first, running, 1000));
  watch.observe(small.annotate(first, [](job_annotations& notes) {
    notes.stalled = stall_mark{stall_reason::silent, 1000};
  }));
  const auto room = small.apply({"alice", "next"}, state(job_status::queued, 1), 2000);
  ASSERT_EQ(room.evicted.size(), 1u);
  watch.observe(room);
  EXPECT_EQ(watch.index().size(), 1u);
  EXPECT_TRUE(watch.index().jobs_of("w1").empty());
}

}  // namespace
}  // namespace progress::bridge

namespace progress::bridge {
namespace {

TEST(StallWatch, FollowsTheJobsAStoreHeldBeforeIt) {
  job_store store;
  auto running = state(job_status::in_progress, 1);
  running.worker_id = "w1";
  store.apply({"alice", "restored"}, running, 1000);
  store.apply({"alice", "done"}, state(job_status::completed, 1), 1000);
  stall_watch watch{store, stall_options{.stall_after = std::chrono::seconds{10}}};
  for (const auto& job : store.snapshot().jobs) watch.follow(job);
  EXPECT_EQ(watch.index().size(), 1u);
  EXPECT_EQ(watch.on_worker_status("w1", R"({"status":"offline"})", 2000).size(), 1u);
}

}  // namespace
}  // namespace progress::bridge
