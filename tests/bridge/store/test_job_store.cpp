#include "job_store.hpp"

#include <algorithm>
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace progress::bridge {
namespace {

job_state state(job_status status, std::int64_t seq, std::int64_t attempt = 1) {
  job_state s;
  s.status = status;
  s.seq = seq;
  s.attempt = attempt;
  return s;
}

job_key key(std::string user, std::string job) {
  return job_key{std::move(user), std::move(job)};
}

TEST(JobStore, AcceptsFirstStateAndServesItsJson) {
  job_store store;
  auto s = state(job_status::in_progress, 1);
  s.progress = 40;
  const auto result = store.apply(key("alice", "j1"), s, 1000);
  ASSERT_EQ(result.outcome, apply_outcome::accepted);
  ASSERT_TRUE(result.job);
  EXPECT_EQ(result.revision, 1u);
  EXPECT_EQ(result.job->revision, 1u);
  EXPECT_EQ(result.job->updated_at_ms, 1000);
  EXPECT_EQ(result.job->key.user_id, "alice");
  EXPECT_EQ(result.job->key.job_id, "j1");
  EXPECT_EQ(result.job->facts.progress, 40);

  const auto json = nlohmann::json::parse(*result.job->json);
  EXPECT_EQ(json["userId"], "alice");
  EXPECT_EQ(json["jobId"], "j1");
  EXPECT_EQ(json["status"], "in_progress");
  EXPECT_EQ(json["progress"], 40.0);
  EXPECT_EQ(json["updatedAt"], 1000);

  const auto found = store.find(key("alice", "j1"));
  EXPECT_EQ(found, result.job);  // the same snapshot, serialized once
  EXPECT_FALSE(store.find(key("alice", "j2")));
  EXPECT_FALSE(store.find(key("bob", "j1")));
}

TEST(JobStore, NeverMovesAJobBackwards) {
  job_store store;
  const auto k = key("alice", "j1");
  ASSERT_EQ(store.apply(k, state(job_status::started, 1), 1).outcome, apply_outcome::accepted);
  ASSERT_EQ(store.apply(k, state(job_status::in_progress, 3), 2).outcome, apply_outcome::accepted);

  const auto duplicate = store.apply(k, state(job_status::in_progress, 3), 3);
  EXPECT_EQ(duplicate.outcome, apply_outcome::duplicate);
  EXPECT_EQ(duplicate.revision, 0u);
  const auto stale = store.apply(k, state(job_status::started, 2), 4);
  EXPECT_EQ(stale.outcome, apply_outcome::stale);
  EXPECT_EQ(store.apply(k, state(job_status::queued, 5, 0), 5).outcome, apply_outcome::stale);

  ASSERT_EQ(store.apply(k, state(job_status::completed, 4), 6).outcome, apply_outcome::accepted);
  EXPECT_EQ(store.apply(k, state(job_status::in_progress, 9), 7).outcome, apply_outcome::after_terminal);

  const auto current = store.find(k);
  ASSERT_TRUE(current);
  EXPECT_EQ(current->facts.status, job_status::completed);
  EXPECT_EQ(current->facts.seq, 4);
  EXPECT_EQ(store.revision(), 3u);  // refused updates take no revision
  EXPECT_EQ(store.history(k)->size(), 3u);
}

TEST(JobStore, HistoryIsBoundedAndDropsTheOldest) {
  job_store store{store_limits{.history_per_job = 3}};
  const auto k = key("alice", "j1");
  for (std::int64_t seq = 1; seq <= 5; ++seq) {
    ASSERT_EQ(store.apply(k, state(job_status::in_progress, seq), seq * 10).outcome, apply_outcome::accepted);
  }
  const auto events = store.history(k);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0]->seq, 3);
  EXPECT_EQ((*events)[2]->seq, 5);
  EXPECT_EQ((*events)[2]->updated_at_ms, 50);
  EXPECT_EQ(nlohmann::json::parse((*events)[0]->json)["seq"], 3);
  EXPECT_EQ(&(*events)[2]->json, store.find(k)->json.get());  // shared, not copied

  const auto since = store.history(k, 4);
  ASSERT_TRUE(since);
  ASSERT_EQ(since->size(), 1u);
  EXPECT_EQ(since->front()->seq, 5);
  EXPECT_FALSE(store.history(key("alice", "unknown")));
}

TEST(JobStore, NewAttemptResetsHistoryButKeepsEventNumbering) {
  job_store store;
  const auto k = key("alice", "j1");
  store.apply(k, state(job_status::started, 1, 1), 1);
  store.apply(k, state(job_status::failed, 2, 1), 2);
  const auto retry = store.apply(k, state(job_status::started, 1, 2), 3);
  EXPECT_EQ(retry.outcome, apply_outcome::new_attempt);
  const auto events = store.history(k);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->front()->seq, 3);
  EXPECT_EQ(store.find(k)->facts.attempt, 2);
}

TEST(JobStore, RemoveLeavesATombstoneInTheChangeLog) {
  job_store store;
  const auto k = key("alice", "j1");
  store.apply(k, state(job_status::queued, 1), 1);
  const auto removed = store.remove(k);
  EXPECT_EQ(removed.outcome, apply_outcome::removed);
  EXPECT_EQ(removed.revision, 2u);
  EXPECT_EQ(removed.key, k);
  EXPECT_FALSE(store.find(k));
  EXPECT_FALSE(store.history(k));
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.remove(k).outcome, apply_outcome::not_found);

  const auto feed = store.changes_since(0);
  ASSERT_TRUE(feed.covered);
  ASSERT_EQ(feed.changes.size(), 2u);
  EXPECT_TRUE(feed.changes[0].job);
  EXPECT_EQ(feed.changes[1].revision, 2u);
  EXPECT_EQ(feed.changes[1].key, k);
  EXPECT_FALSE(feed.changes[1].job);

  // A job re-created after removal starts from scratch.
  EXPECT_EQ(store.apply(k, state(job_status::queued, 1), 4).outcome, apply_outcome::accepted);
}

TEST(JobStore, UserCapEvictsTheUsersOldestFinishedJob) {
  job_store store{store_limits{.jobs_per_user = 3}};
  store.apply(key("alice", "a"), state(job_status::completed, 1), 1);
  store.apply(key("alice", "b"), state(job_status::in_progress, 1), 2);
  store.apply(key("alice", "c"), state(job_status::failed, 1), 3);
  store.apply(key("bob", "x"), state(job_status::completed, 1), 4);

  const auto result = store.apply(key("alice", "d"), state(job_status::queued, 1), 5);
  ASSERT_EQ(result.outcome, apply_outcome::accepted);
  ASSERT_EQ(result.evicted.size(), 1u);
  EXPECT_EQ(result.evicted[0].key, key("alice", "a"));
  EXPECT_FALSE(result.evicted[0].job);
  EXPECT_LT(result.evicted[0].revision, result.revision);
  EXPECT_FALSE(store.find(key("alice", "a")));
  EXPECT_TRUE(store.find(key("bob", "x")));  // other users are untouched
  EXPECT_EQ(store.stats("alice").total, 3u);

  // Updating an existing job at the cap needs no room.
  EXPECT_EQ(store.apply(key("alice", "b"), state(job_status::in_progress, 2), 6).outcome,
            apply_outcome::accepted);
  EXPECT_EQ(store.size(), 4u);
}

TEST(JobStore, RejectsANewJobWhenNothingFinishedCanMakeRoom) {
  job_store store{store_limits{.jobs_per_user = 2}};
  store.apply(key("alice", "a"), state(job_status::in_progress, 1), 1);
  store.apply(key("alice", "b"), state(job_status::queued, 1), 2);
  const auto result = store.apply(key("alice", "c"), state(job_status::queued, 1), 3);
  EXPECT_EQ(result.outcome, apply_outcome::over_capacity);
  EXPECT_FALSE(result.job);
  EXPECT_TRUE(result.evicted.empty());
  EXPECT_FALSE(store.find(key("alice", "c")));
  EXPECT_EQ(store.revision(), 2u);

  // Once one finishes, it can make room.
  store.apply(key("alice", "a"), state(job_status::completed, 2), 4);
  const auto retry = store.apply(key("alice", "c"), state(job_status::queued, 1), 5);
  EXPECT_EQ(retry.outcome, apply_outcome::accepted);
  ASSERT_EQ(retry.evicted.size(), 1u);
  EXPECT_EQ(retry.evicted[0].key, key("alice", "a"));
}

TEST(JobStore, GlobalCapEvictsTheLeastRecentlyUpdatedFinishedJob) {
  job_store store{store_limits{.max_jobs = 3}};
  store.apply(key("alice", "a"), state(job_status::completed, 1), 1);
  store.apply(key("bob", "b"), state(job_status::completed, 1), 2);
  store.apply(key("carol", "c"), state(job_status::in_progress, 1), 3);
  // "a" finished first but is updated again (a new attempt ending), so "b" is now the oldest.
  store.apply(key("alice", "a"), state(job_status::cancelled, 1, 2), 4);

  const auto result = store.apply(key("dave", "d"), state(job_status::queued, 1), 5);
  ASSERT_EQ(result.outcome, apply_outcome::accepted);
  ASSERT_EQ(result.evicted.size(), 1u);
  EXPECT_EQ(result.evicted[0].key, key("bob", "b"));
  EXPECT_EQ(store.size(), 3u);

  store.apply(key("alice", "a"), state(job_status::started, 1, 3), 6);
  store.remove(key("dave", "d"));
  store.apply(key("dave", "d"), state(job_status::queued, 1), 8);
  // Only running jobs left: a new one is refused.
  EXPECT_EQ(store.apply(key("erin", "e"), state(job_status::queued, 1), 9).outcome,
            apply_outcome::over_capacity);
}

TEST(JobStore, ExpiresFinishedJobsAfterTheTtl) {
  using namespace std::chrono_literals;
  job_store store{store_limits{.finished_ttl = 1000ms}};
  store.apply(key("alice", "done"), state(job_status::completed, 1), 100);
  store.apply(key("alice", "later"), state(job_status::failed, 1), 600);
  store.apply(key("alice", "running"), state(job_status::in_progress, 1), 100);

  EXPECT_TRUE(store.expire(1099).empty());
  const auto first = store.expire(1100);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].key, key("alice", "done"));
  EXPECT_FALSE(first[0].job);
  EXPECT_FALSE(store.find(key("alice", "done")));

  const auto second = store.expire(100000);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].key, key("alice", "later"));
  EXPECT_TRUE(store.find(key("alice", "running")));  // never expires while active

  const auto feed = store.changes_since(3);
  ASSERT_TRUE(feed.covered);
  ASSERT_EQ(feed.changes.size(), 2u);
  EXPECT_FALSE(feed.changes[0].job);
  EXPECT_FALSE(feed.changes[1].job);
}

job_query query(std::optional<std::string> user_id, status_filter status = {},
                std::optional<std::string> type = std::nullopt, std::size_t limit = default_list_limit,
                std::optional<std::uint64_t> before_revision = std::nullopt) {
  job_query q;
  q.user_id = std::move(user_id);
  q.status = status;
  q.type = std::move(type);
  q.limit = limit;
  q.before_revision = before_revision;
  return q;
}

class JobStoreListing : public ::testing::Test {
 protected:
  void SetUp() override {
    // alice: 10 jobs, even ones finished; bob: 3 jobs.
    for (int i = 0; i < 10; ++i) {
      auto s = state(i % 2 == 0 ? job_status::completed : job_status::in_progress, 1);
      s.type = i < 5 ? "render" : "export";
      store_.apply(key("alice", "a" + std::to_string(i)), s, i);
    }
    for (int i = 0; i < 3; ++i)
      store_.apply(key("bob", "b" + std::to_string(i)), state(job_status::queued, 1), 100);
  }

  static std::vector<std::string> ids(const job_page& page) {
    std::vector<std::string> out;
    for (const auto& job : page.jobs) out.push_back(job->key.job_id);
    return out;
  }

  job_store store_;
};

TEST_F(JobStoreListing, ListsOneUserNewestFirst) {
  const auto page = store_.list(query("alice"));
  EXPECT_EQ(ids(page),
            (std::vector<std::string>{"a9", "a8", "a7", "a6", "a5", "a4", "a3", "a2", "a1", "a0"}));
  EXPECT_FALSE(page.next_cursor);
  EXPECT_TRUE(store_.list(query("nobody")).jobs.empty());
  EXPECT_EQ(store_.list(query(std::nullopt)).jobs.size(), 13u);
}

TEST_F(JobStoreListing, FiltersByStatusAndType) {
  EXPECT_EQ(ids(store_.list(query("alice", status_filter::active()))),
            (std::vector<std::string>{"a9", "a7", "a5", "a3", "a1"}));
  EXPECT_EQ(ids(store_.list(query("alice", status_filter::terminal(), "render"))),
            (std::vector<std::string>{"a4", "a2", "a0"}));
  EXPECT_EQ(ids(store_.list(query(std::nullopt, status_filter::exact(job_status::queued)))),
            (std::vector<std::string>{"b2", "b1", "b0"}));
  EXPECT_TRUE(store_.list(query("bob", status_filter::terminal())).jobs.empty());
}

TEST_F(JobStoreListing, ClampsTheLimit) {
  EXPECT_EQ(store_.list(query("alice", {}, std::nullopt, 0)).jobs.size(), 1u);
  job_store big;
  for (int i = 0; i < 600; ++i) big.apply(key("u", "j" + std::to_string(i)), state(job_status::queued, 1), i);
  const auto page = big.list(query(std::nullopt, {}, std::nullopt, 10000));
  EXPECT_EQ(page.jobs.size(), max_list_limit);
  EXPECT_TRUE(page.next_cursor);
}

TEST_F(JobStoreListing, CursorPagesStayStableWhileUpdatesArrive) {
  const auto first = store_.list(query("alice", {}, std::nullopt, 4));
  EXPECT_EQ(ids(first), (std::vector<std::string>{"a9", "a8", "a7", "a6"}));
  ASSERT_TRUE(first.next_cursor);

  // Jobs of the first page and of the next one change meanwhile, and a new one arrives.
  store_.apply(key("alice", "a9"), state(job_status::in_progress, 2), 200);
  store_.apply(key("alice", "a5"), state(job_status::in_progress, 2), 201);
  store_.apply(key("alice", "new"), state(job_status::queued, 1), 202);

  const auto second = store_.list(query("alice", {}, std::nullopt, 4, first.next_cursor));
  EXPECT_EQ(ids(second), (std::vector<std::string>{"a4", "a3", "a2", "a1"}));
  ASSERT_TRUE(second.next_cursor);
  const auto third = store_.list(query("alice", {}, std::nullopt, 4, second.next_cursor));
  EXPECT_EQ(ids(third), (std::vector<std::string>{"a0"}));
  EXPECT_FALSE(third.next_cursor);

  // No job is served twice across the pages.
  std::set<std::string> seen;
  for (const auto* page : {&first, &second, &third}) {
    for (const auto& id : ids(*page)) EXPECT_TRUE(seen.insert(id).second) << id;
  }
  // The moved jobs are at the front of a fresh listing.
  EXPECT_EQ(ids(store_.list(query("alice", {}, std::nullopt, 3))),
            (std::vector<std::string>{"new", "a5", "a9"}));
}

TEST_F(JobStoreListing, NextCursorOnlyWhenMoreMatch) {
  const auto page = store_.list(query("alice", status_filter::active(), std::nullopt, 5));
  EXPECT_EQ(page.jobs.size(), 5u);
  EXPECT_FALSE(page.next_cursor);
}

TEST(JobStore, StatsCountOneUser) {
  job_store store;
  auto running = state(job_status::in_progress, 1);
  running.progress = 20;
  store.apply(key("alice", "a"), running, 1);
  auto started = state(job_status::started, 1);
  started.progress = 60;
  store.apply(key("alice", "b"), started, 2);
  store.apply(key("alice", "c"), state(job_status::started, 1), 3);  // no progress reported
  store.apply(key("alice", "d"), state(job_status::queued, 1), 4);
  auto done = state(job_status::completed, 1);
  done.progress = 100;
  store.apply(key("alice", "e"), done, 5);
  store.apply(key("alice", "f"), state(job_status::failed, 1), 6);
  store.apply(key("alice", "g"), state(job_status::cancelled, 1), 7);
  store.apply(key("bob", "h"), state(job_status::failed, 1), 8);

  const auto stats = store.stats("alice");
  EXPECT_EQ(stats.total, 7u);
  EXPECT_EQ(stats.queued, 1u);
  EXPECT_EQ(stats.active, 3u);
  EXPECT_EQ(stats.completed, 1u);
  EXPECT_EQ(stats.failed, 1u);
  EXPECT_EQ(stats.cancelled, 1u);
  ASSERT_TRUE(stats.average_progress);
  EXPECT_DOUBLE_EQ(*stats.average_progress, 40.0);

  const auto none = store.stats("nobody");
  EXPECT_EQ(none.total, 0u);
  EXPECT_FALSE(none.average_progress);

  const auto counts = store.counts_by_status();
  EXPECT_EQ(counts[static_cast<std::size_t>(job_status::failed)], 2u);
  EXPECT_EQ(counts[static_cast<std::size_t>(job_status::started)], 2u);
  store.apply(key("alice", "a"), state(job_status::completed, 2), 9);
  store.remove(key("bob", "h"));
  const auto after = store.counts_by_status();
  EXPECT_EQ(after[static_cast<std::size_t>(job_status::in_progress)], 0u);
  EXPECT_EQ(after[static_cast<std::size_t>(job_status::completed)], 2u);
  EXPECT_EQ(after[static_cast<std::size_t>(job_status::failed)], 1u);
}

TEST(JobStore, ChangeLogCoversOnlyWhatItStillHolds) {
  job_store store{store_limits{.change_log_limit = 5}};
  for (std::int64_t seq = 1; seq <= 4; ++seq)
    store.apply(key("alice", "a"), state(job_status::in_progress, seq), seq);
  store.apply(key("bob", "b"), state(job_status::queued, 1), 5);

  auto feed = store.changes_since(0);
  EXPECT_TRUE(feed.covered);
  EXPECT_EQ(feed.head_revision, 5u);
  EXPECT_EQ(feed.changes.size(), 5u);

  const auto bob_only = store.changes_since(0, std::string{"bob"});
  ASSERT_EQ(bob_only.changes.size(), 1u);
  EXPECT_EQ(bob_only.changes[0].revision, 5u);

  store.apply(key("alice", "a"), state(job_status::in_progress, 5), 6);
  store.apply(key("alice", "a"), state(job_status::in_progress, 6), 7);
  EXPECT_FALSE(store.changes_since(0).covered);
  EXPECT_FALSE(store.changes_since(1).covered);
  feed = store.changes_since(2);
  ASSERT_TRUE(feed.covered);
  ASSERT_EQ(feed.changes.size(), 5u);
  EXPECT_EQ(feed.changes.front().revision, 3u);
  EXPECT_EQ(feed.changes.back().revision, 7u);

  const auto head = store.changes_since(7);
  EXPECT_TRUE(head.covered);
  EXPECT_TRUE(head.changes.empty());
  EXPECT_FALSE(store.changes_since(8).covered);  // a cursor from the future (e.g. another bridge run)
}

TEST(JobStore, SnapshotIsConsistentWithItsRevision) {
  job_store store;
  store.apply(key("alice", "a"), state(job_status::queued, 1), 1);
  store.apply(key("bob", "b"), state(job_status::queued, 1), 2);
  store.apply(key("alice", "c"), state(job_status::queued, 1), 3);

  const auto alice = store.snapshot(std::string{"alice"});
  EXPECT_EQ(alice.revision, 3u);
  ASSERT_EQ(alice.jobs.size(), 2u);
  EXPECT_EQ(alice.jobs[0]->key.job_id, "c");
  EXPECT_EQ(alice.jobs[1]->key.job_id, "a");
  EXPECT_EQ(store.snapshot().jobs.size(), 3u);
  EXPECT_TRUE(store.snapshot(std::string{"nobody"}).jobs.empty());

  // The snapshot and the changes after its revision together give the current state.
  store.remove(key("alice", "a"));
  const auto feed = store.changes_since(alice.revision, std::string{"alice"});
  ASSERT_TRUE(feed.covered);
  ASSERT_EQ(feed.changes.size(), 1u);
  EXPECT_EQ(feed.changes[0].key, key("alice", "a"));
  EXPECT_FALSE(feed.changes[0].job);
}

TEST(JobStore, EachInstanceHasItsOwnEpoch) {
  const job_store first;
  const job_store second;
  EXPECT_NE(first.epoch(), second.epoch());
  EXPECT_EQ(first.epoch(), first.epoch());
}

TEST(JobStore, ReadersSeeConsistentSnapshotsWhileAWriterApplies) {
  job_store store{store_limits{.history_per_job = 5, .change_log_limit = 100}};
  constexpr int jobs = 20;
  constexpr int rounds = 100;
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};

  auto reader = [&] {
    while (!done.load()) {
      const auto page = store.list(query(std::nullopt, {}, std::nullopt, max_list_limit));
      for (std::size_t i = 0; i < page.jobs.size(); ++i) {
        const auto& job = *page.jobs[i];
        if (i > 0 && page.jobs[i - 1]->revision <= job.revision) ++bad;
        if (nlohmann::json::parse(*job.json)["seq"] != *job.facts.seq) ++bad;
      }
      if (const auto events = store.history(job_key{"u", "j0"})) {
        for (std::size_t i = 1; i < events->size(); ++i) {
          if ((*events)[i - 1]->seq >= (*events)[i]->seq) ++bad;
        }
      }
      const auto feed = store.changes_since(store.revision() > 50 ? store.revision() - 50 : 0);
      for (std::size_t i = 1; i < feed.changes.size(); ++i) {
        if (feed.changes[i - 1].revision + 1 != feed.changes[i].revision) ++bad;
      }
    }
  };
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) readers.emplace_back(reader);
  for (int round = 1; round <= rounds; ++round) {
    for (int j = 0; j < jobs; ++j)
      store.apply(job_key{"u", "j" + std::to_string(j)}, state(job_status::in_progress, round), round);
  }
  done = true;
  for (auto& thread : readers) thread.join();

  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(store.revision(), static_cast<std::uint64_t>(jobs * rounds));
  EXPECT_EQ(store.history(job_key{"u", "j0"})->size(), 5u);
}

}  // namespace
}  // namespace progress::bridge

namespace progress::bridge {
namespace {

TEST(JobStore, LongFinishedJobsAreNotLoadedAgain) {
  job_store store{store_limits{.finished_ttl = std::chrono::hours{1}}};
  const std::int64_t now = 10 * 3600 * 1000;
  auto old = state(job_status::completed, 5);
  old.timestamp = now - 2 * 3600 * 1000;  // finished two hours ago, by the worker's clock
  const auto result = store.apply(key("alice", "old"), old, now);
  EXPECT_EQ(result.outcome, apply_outcome::expired);
  EXPECT_FALSE(store.find(key("alice", "old")));
  EXPECT_EQ(store.revision(), 0u);

  // A recent end, a running job, and the end of a job the store holds are all kept.
  auto recent = old;
  recent.timestamp = now - 60 * 1000;
  EXPECT_EQ(store.apply(key("alice", "recent"), recent, now).outcome, apply_outcome::accepted);
  auto running = state(job_status::in_progress, 1);
  running.timestamp = old.timestamp;
  EXPECT_EQ(store.apply(key("alice", "held"), running, now).outcome, apply_outcome::accepted);
  EXPECT_EQ(store.apply(key("alice", "held"), old, now).outcome, apply_outcome::accepted);
}

}  // namespace
}  // namespace progress::bridge
