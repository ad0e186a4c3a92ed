#include "job_annotations.hpp"

#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "job_fixtures.hpp"
#include "job_store.hpp"

namespace progress::bridge {
namespace {

using fixtures::state;
using nlohmann::json;

const job_key alice_job{"alice", "j1"};

auto stall(stall_reason reason, std::int64_t since) {
  return [=](job_annotations& notes) { notes.stalled = stall_mark{reason, since}; };
}

auto cancel(std::string request_id, std::int64_t at) {
  return [=](job_annotations& notes) { notes.cancel_requested = cancel_mark{request_id, "alice", at}; };
}

TEST(JobAnnotations, AreAppendedToTheJsonObject) {
  std::string text = R"({"jobId":"j1"})";
  append_annotations(
      text, job_annotations{stall_mark{stall_reason::worker_offline, 5}, cancel_mark{"c-1", "bob", 7}});
  EXPECT_EQ(json::parse(text), json::parse(R"({"jobId":"j1",
      "cancelRequested":{"requestId":"c-1","requestedBy":"bob","at":7},
      "stalled":{"reason":"worker_offline","since":5}})"));

  std::string plain = R"({"jobId":"j1"})";
  append_annotations(plain, {});
  EXPECT_EQ(plain, R"({"jobId":"j1"})");
  std::string empty_object = "{}";
  append_annotations(empty_object, job_annotations{stall_mark{stall_reason::silent, 1}, std::nullopt});
  EXPECT_EQ(empty_object, R"({"stalled":{"reason":"silent","since":1}})");
}

TEST(JobAnnotations, AnAnnotationIsAChangeOfTheJobButNotAnEvent) {
  job_store store;
  const auto update = store.apply(alice_job, state(job_status::in_progress, 1), 1000);
  const auto marked = store.annotate(alice_job, stall(stall_reason::silent, 2000));

  ASSERT_EQ(marked.outcome, apply_outcome::accepted);
  EXPECT_EQ(marked.revision, update.revision + 1);
  ASSERT_TRUE(marked.job);
  EXPECT_EQ(marked.job->updated_at_ms, 1000);  // still the time of the last update
  EXPECT_EQ(marked.job->facts, update.job->facts);
  EXPECT_EQ(marked.job->plain_json(), *update.job->json);
  const auto served = json::parse(*store.find(alice_job)->json);
  EXPECT_EQ(served["stalled"], json::parse(R"({"reason":"silent","since":2000})"));
  EXPECT_EQ(served["updatedAt"], 1000);

  const auto feed = store.changes_since(update.revision);
  ASSERT_EQ(feed.changes.size(), 1u);
  EXPECT_EQ(feed.changes[0].job, marked.job);
  EXPECT_EQ(store.history(alice_job)->size(), 1u);  // the worker sent one state
  EXPECT_EQ(store.list({}).jobs.front(), marked.job);
}

// The store keeps no parsed copy of a state: annotations are re-applied to
// the text the worker's state was serialized to, and taking them back gives
// that text again, byte for byte.
TEST(JobAnnotations, TakingThemBackGivesTheUnannotatedTextAgain) {
  job_store store;
  auto running = state(job_status::in_progress, 1);
  running.message = "copying";
  const auto update = store.apply(alice_job, running, 1000);
  store.annotate(alice_job, stall(stall_reason::silent, 2000));
  const auto both = store.annotate(alice_job, cancel("c-1", 2500));
  ASSERT_EQ(both.outcome, apply_outcome::accepted);
  EXPECT_EQ(both.job->plain_json(), *update.job->json);
  EXPECT_EQ(json::parse(*both.job->json)["message"], "copying");

  store.annotate(alice_job, [](job_annotations& notes) { notes.stalled.reset(); });
  const auto back = store.annotate(alice_job, [](job_annotations& notes) { notes.cancel_requested.reset(); });
  ASSERT_EQ(back.outcome, apply_outcome::accepted);
  EXPECT_EQ(*back.job->json, *update.job->json);
}

TEST(JobAnnotations, UnchangedUnknownAndEndedJobsAreNotAnnotated) {
  job_store store;
  EXPECT_EQ(store.annotate(alice_job, stall(stall_reason::silent, 1)).outcome, apply_outcome::not_found);

  store.apply(alice_job, state(job_status::in_progress, 1), 1000);
  store.annotate(alice_job, stall(stall_reason::silent, 1));
  const auto again = store.annotate(alice_job, stall(stall_reason::silent, 1));
  EXPECT_EQ(again.outcome, apply_outcome::duplicate);
  EXPECT_EQ(again.revision, 0u);

  const job_key done{"alice", "done"};
  store.apply(done, state(job_status::completed, 1), 1000);
  const auto ended = store.annotate(done, cancel("c-1", 5));
  EXPECT_EQ(ended.outcome, apply_outcome::after_terminal);
  EXPECT_FALSE(store.find(done)->notes.cancel_requested);
}

TEST(JobAnnotations, AnUpdateClearsTheStallAndKeepsTheCancelRequestUntilTheEnd) {
  job_store store;
  store.apply(alice_job, state(job_status::in_progress, 1), 1000);
  store.annotate(alice_job, stall(stall_reason::worker_offline, 2000));
  store.annotate(alice_job, cancel("c-1", 2500));

  const auto update = store.apply(alice_job, state(job_status::in_progress, 2), 3000);
  EXPECT_FALSE(update.job->notes.stalled);
  ASSERT_TRUE(update.job->notes.cancel_requested);
  const auto served = json::parse(*update.job->json);
  EXPECT_FALSE(served.contains("stalled"));
  EXPECT_EQ(served["cancelRequested"]["requestId"], "c-1");
  EXPECT_EQ(json::parse(store.history(alice_job)->back()->json), served);

  const auto end = store.apply(alice_job, state(job_status::cancelled, 3), 4000);
  EXPECT_TRUE(end.job->notes.empty());
  EXPECT_FALSE(json::parse(*end.job->json).contains("cancelRequested"));
}

TEST(JobAnnotations, StatsCountStalledJobs) {
  job_store store;
  store.apply(alice_job, state(job_status::in_progress, 1), 1000);
  store.apply({"alice", "j2"}, state(job_status::queued, 1), 1000);
  store.apply({"alice", "j3"}, state(job_status::in_progress, 1), 1000);
  store.annotate(alice_job, stall(stall_reason::silent, 2000));
  store.annotate({"alice", "j2"}, stall(stall_reason::worker_offline, 2000));

  const auto stats = store.stats("alice");
  EXPECT_EQ(stats.stalled, 2u);
  EXPECT_EQ(stats.active, 2u);  // stalled jobs still count under their status
  EXPECT_EQ(stats.queued, 1u);
  EXPECT_EQ(store.stalled_count(), 2u);

  store.apply(alice_job, state(job_status::in_progress, 2), 3000);
  EXPECT_EQ(store.stats("alice").stalled, 1u);
  store.remove({"alice", "j2"});
  EXPECT_EQ(store.stalled_count(), 0u);
}

TEST(JobAnnotations, StalledJobsMakeRoomWhenAUserIsFullFinishedOnesFirst) {
  job_store store{store_limits{.jobs_per_user = 3}};
  store.apply({"alice", "stalled"}, state(job_status::in_progress, 1), 1000);
  store.apply({"alice", "running"}, state(job_status::in_progress, 1), 1001);
  store.apply({"alice", "done"}, state(job_status::completed, 1), 1002);
  store.annotate({"alice", "stalled"}, stall(stall_reason::worker_offline, 1003));

  const auto first = store.apply({"alice", "new-1"}, state(job_status::queued, 1), 1004);
  ASSERT_EQ(first.outcome, apply_outcome::accepted);
  ASSERT_EQ(first.evicted.size(), 1u);
  EXPECT_EQ(first.evicted[0].key.job_id, "done");

  const auto second = store.apply({"alice", "new-2"}, state(job_status::queued, 1), 1005);
  ASSERT_EQ(second.outcome, apply_outcome::accepted);
  ASSERT_EQ(second.evicted.size(), 1u);
  EXPECT_EQ(second.evicted[0].key.job_id, "stalled");

  // Running jobs are never dropped for newer ones.
  EXPECT_EQ(store.apply({"alice", "new-3"}, state(job_status::queued, 1), 1006).outcome,
            apply_outcome::over_capacity);
}

TEST(JobAnnotations, StalledJobsMakeRoomInAFullStore) {
  job_store store{store_limits{.max_jobs = 2}};
  store.apply({"alice", "a"}, state(job_status::in_progress, 1), 1000);
  store.apply({"bob", "b"}, state(job_status::in_progress, 1), 1000);
  EXPECT_EQ(store.apply({"carol", "c"}, state(job_status::queued, 1), 1001).outcome,
            apply_outcome::over_capacity);
  store.annotate({"bob", "b"}, stall(stall_reason::silent, 1002));
  const auto room = store.apply({"carol", "c"}, state(job_status::queued, 1), 1003);
  ASSERT_EQ(room.outcome, apply_outcome::accepted);
  ASSERT_EQ(room.evicted.size(), 1u);
  EXPECT_EQ(room.evicted[0].key, (job_key{"bob", "b"}));
}

TEST(JobAnnotations, StalledJobsExpireAfterTheirTtl) {
  job_store store{
      store_limits{.finished_ttl = std::chrono::hours{1}, .stalled_ttl = std::chrono::minutes{10}}};
  constexpr std::int64_t minute = 60'000;
  store.apply(alice_job, state(job_status::in_progress, 1), 0);
  store.apply({"alice", "running"}, state(job_status::in_progress, 1), 0);
  store.annotate(alice_job, stall(stall_reason::silent, 5 * minute));

  EXPECT_TRUE(store.expire(14 * minute).empty());  // stalled for 9 minutes
  const auto expired = store.expire(15 * minute);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].key, alice_job);
  EXPECT_FALSE(expired[0].job);
  EXPECT_FALSE(store.find(alice_job));
  EXPECT_TRUE(store.find({"alice", "running"}));  // not stalled: never expires
  EXPECT_EQ(store.stalled_count(), 0u);
}

TEST(JobAnnotations, AJobThatRecoversDoesNotExpire) {
  job_store store{store_limits{.stalled_ttl = std::chrono::minutes{10}}};
  store.apply(alice_job, state(job_status::in_progress, 1), 0);
  store.annotate(alice_job, stall(stall_reason::worker_offline, 0));
  store.apply(alice_job, state(job_status::in_progress, 2), 60'000);
  EXPECT_TRUE(store.expire(3'600'000).empty());
  EXPECT_TRUE(store.find(alice_job));
}

}  // namespace
}  // namespace progress::bridge
