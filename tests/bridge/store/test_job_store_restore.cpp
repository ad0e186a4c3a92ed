// job_store::restore: jobs saved by an earlier run come back with their
// revisions, timelines and receive times, under the capacity rules.
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "job_store.hpp"
#include "progress/protocol/validation.hpp"

namespace progress::bridge {
namespace {

// A saved job whose events have seqs first..last, the last one being its state.
restored_job saved(const std::string& user, const std::string& job, std::uint64_t revision,
                   std::int64_t first, std::int64_t last, job_status status = job_status::in_progress) {
  restored_job out;
  out.key = job_key{user, job};
  out.state.status = status;
  out.state.seq = last;
  out.updated_at_ms = 1000 + last;
  out.revision = revision;
  for (auto seq = first; seq <= last; ++seq) {
    out.history.push_back(
        std::make_shared<const job_event>(job_event{seq, revision - static_cast<std::uint64_t>(last - seq),
                                                    1000 + seq, R"({"seq":)" + std::to_string(seq) + "}"}));
  }
  out.json = shared_json(out.history.back());
  return out;
}

TEST(JobStoreRestore, ServesRestoredJobsWithTheirTimelinesAndRevisions) {
  job_store store;
  ASSERT_EQ(store.restore(saved("alice", "a", 10, 3, 5)).outcome, apply_outcome::accepted);
  ASSERT_EQ(store.restore(saved("bob", "b", 20, 1, 1, job_status::completed)).outcome,
            apply_outcome::accepted);
  store.skip_revisions_to(1000);

  const auto a = store.find(job_key{"alice", "a"});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->revision, 10u);
  EXPECT_EQ(a->updated_at_ms, 1005);
  EXPECT_EQ(a->key.user_id, "alice");
  EXPECT_EQ(a->facts.seq, 5);
  EXPECT_EQ(*a->json, R"({"seq":5})");
  const auto events = *store.history(job_key{"alice", "a"});
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events.front()->seq, 3);
  EXPECT_EQ(&events.back()->json, a->json.get());

  // Listing order is the saved order; new changes come after, above the skipped revisions.
  const auto page = store.list(job_query{});
  ASSERT_EQ(page.jobs.size(), 2u);
  EXPECT_EQ(page.jobs[0]->key.user_id, "bob");
  job_state next;
  next.status = job_status::in_progress;
  next.seq = 6;
  const auto update = store.apply(job_key{"alice", "a"}, next, 2000);
  ASSERT_EQ(update.outcome, apply_outcome::accepted);
  EXPECT_EQ(update.revision, 1001u);
  EXPECT_EQ(update.event->seq, 6);  // the numbering goes on
  EXPECT_EQ(store.history(job_key{"alice", "a"})->size(), 4u);

  // Cursors of before the restart cannot resume: their changes are not in the log.
  EXPECT_FALSE(store.changes_since(10).covered);
  EXPECT_TRUE(store.changes_since(1000).covered);
}

TEST(JobStoreRestore, RefusesJobsOutOfOrder) {
  job_store store;
  ASSERT_EQ(store.restore(saved("alice", "a", 10, 1, 1)).outcome, apply_outcome::accepted);
  EXPECT_THROW(store.restore(saved("alice", "b", 10, 1, 1)), std::invalid_argument);
  EXPECT_THROW(store.restore(saved("alice", "a", 11, 1, 1)), std::invalid_argument);
}

TEST(JobStoreRestore, TodaysLimitsApplyToWhatEarlierRunsSaved) {
  job_store store{store_limits{.history_per_job = 2, .jobs_per_user = 1}};
  const auto first = store.restore(saved("alice", "a", 10, 1, 5, job_status::completed));
  ASSERT_EQ(first.outcome, apply_outcome::accepted);
  ASSERT_EQ(first.trimmed.size(), 1u);
  EXPECT_EQ(first.trimmed[0].first_seq, 4);
  EXPECT_EQ(store.history(job_key{"alice", "a"})->size(), 2u);

  // Alice may keep one job: the newer takes the finished one's place.
  const auto second = store.restore(saved("alice", "b", 11, 1, 1));
  ASSERT_EQ(second.outcome, apply_outcome::accepted);
  ASSERT_EQ(second.evicted.size(), 1u);
  EXPECT_EQ(second.evicted[0].key, (job_key{"alice", "a"}));
  EXPECT_EQ(store.restore(saved("alice", "c", 12, 1, 1)).outcome, apply_outcome::over_capacity);
}

}  // namespace
}  // namespace progress::bridge
