// State-based resume: what a client holding job versions gets from a store.
#include "state_diff.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "job_fixtures.hpp"

namespace progress::bridge {
namespace {

using fixtures::state;

held_job holds(const std::string& job, job_status status, std::int64_t seq, std::int64_t attempt = 1) {
  held_job held;
  held.key = job_key{"alice", job};
  held.status = status;
  held.seq = seq;
  held.attempt = attempt;
  return held;
}

std::vector<std::string> ids(const std::vector<std::shared_ptr<const stored_job>>& jobs) {
  std::vector<std::string> out;
  for (const auto& job : jobs) out.push_back(job->key.job_id);
  return out;
}

std::vector<std::string> ids(const std::vector<job_key>& keys) {
  std::vector<std::string> out;
  for (const auto& key : keys) out.push_back(key.job_id);
  return out;
}

class StateDiff : public ::testing::Test {
 protected:
  void put(const std::string& job, job_status status, std::int64_t seq, std::int64_t attempt = 1) {
    ASSERT_TRUE(is_change(store_.apply(job_key{"alice", job}, state(status, seq, attempt), 1000).outcome));
  }
  state_diff diff(const std::vector<held_job>& held, std::optional<std::string> user = "alice") {
    return diff_states(store_.snapshot(user).jobs, held, user);
  }
  job_store store_;
};

TEST_F(StateDiff, SendsOnlyWhatChangedWhatIsNewAndWhatWasRemoved) {
  put("same", job_status::in_progress, 3);
  put("moved-on", job_status::in_progress, 5);
  put("finished", job_status::completed, 9);
  put("new", job_status::queued, 1);
  const auto result = diff({holds("same", job_status::in_progress, 3), holds("moved-on", job_status::in_progress, 4),
                            holds("finished", job_status::in_progress, 8), holds("gone", job_status::started, 2)});
  EXPECT_EQ(ids(result.jobs), (std::vector<std::string>{"new", "finished", "moved-on"})) << "newest first";
  EXPECT_EQ(ids(result.removed), (std::vector<std::string>{"gone"}));
  EXPECT_EQ(result.unchanged, 1u);
}

TEST_F(StateDiff, AClientAheadOfTheStoreKeepsItsCopy) {
  put("lagging", job_status::in_progress, 3);
  put("old-attempt", job_status::failed, 7, 1);
  put("ended", job_status::in_progress, 4);
  const auto result = diff({holds("lagging", job_status::in_progress, 6), holds("old-attempt", job_status::queued, 1, 2),
                            holds("ended", job_status::completed, 4)});
  EXPECT_TRUE(result.jobs.empty()) << "a state older than the client's would move its view backwards";
  EXPECT_TRUE(result.removed.empty());
  EXPECT_EQ(result.unchanged, 3u);
}

TEST_F(StateDiff, TheSameSeqWithAnotherStatusIsSentSoNoTerminalStateIsMissed) {
  put("republished", job_status::completed, 8);
  const auto result = diff({holds("republished", job_status::in_progress, 8)});
  EXPECT_EQ(ids(result.jobs), (std::vector<std::string>{"republished"}));
}

TEST_F(StateDiff, ANewAttemptIsSent) {
  put("retried", job_status::queued, 1, 2);
  const auto result = diff({holds("retried", job_status::failed, 40, 1)});
  EXPECT_EQ(ids(result.jobs), (std::vector<std::string>{"retried"}));
}

TEST_F(StateDiff, StatesWithoutSeqAreOrderedByTimestamp) {
  job_state no_seq;
  no_seq.status = job_status::in_progress;
  no_seq.timestamp = 5000;
  ASSERT_TRUE(is_change(store_.apply(job_key{"alice", "clocked"}, no_seq, 1000).outcome));
  held_job older;
  older.key = job_key{"alice", "clocked"};
  older.status = job_status::in_progress;
  older.timestamp = 4000;
  EXPECT_EQ(diff({older}).jobs.size(), 1u);
  held_job newer = older;
  newer.timestamp = 6000;
  EXPECT_TRUE(diff({newer}).jobs.empty());
}

TEST_F(StateDiff, AnnotatedJobsAreAlwaysSentAgain) {
  put("stalled-here", job_status::in_progress, 3);
  put("stalled-there", job_status::in_progress, 4);
  ASSERT_EQ(store_
                .annotate(job_key{"alice", "stalled-here"},
                          [](job_annotations& notes) { notes.stalled = stall_mark{stall_reason::silent, 1}; })
                .outcome,
            apply_outcome::accepted);
  auto marked = holds("stalled-there", job_status::in_progress, 4);
  marked.annotated = true;  // the client's copy came from a replica that marked it
  const auto result = diff({holds("stalled-here", job_status::in_progress, 3), marked});
  EXPECT_EQ(ids(result.jobs), (std::vector<std::string>{"stalled-here", "stalled-there"}));
  EXPECT_EQ(result.unchanged, 0u);
}

TEST_F(StateDiff, HeldJobsOfOtherUsersAreIgnoredAndDuplicatesReportedOnce) {
  put("mine", job_status::in_progress, 1);
  auto foreign = holds("theirs", job_status::in_progress, 1);
  foreign.key.user_id = "bob";
  const auto result = diff({foreign, holds("gone", job_status::queued, 1), holds("gone", job_status::queued, 1)});
  EXPECT_EQ(ids(result.jobs), (std::vector<std::string>{"mine"}));
  EXPECT_EQ(ids(result.removed), (std::vector<std::string>{"gone"}));
}

TEST_F(StateDiff, NothingHeldIsAFullSnapshot) {
  put("a", job_status::queued, 1);
  put("b", job_status::queued, 1);
  const auto result = diff({});
  EXPECT_EQ(ids(result.jobs), (std::vector<std::string>{"b", "a"}));
  EXPECT_TRUE(result.removed.empty());
}

}  // namespace
}  // namespace progress::bridge
