// The broker-crash rule, as pure functions, and the pieces it is built on:
// the marker's payload and the remembered removals.
#include "replay_rule.hpp"

#include <gtest/gtest.h>

#include "job_fixtures.hpp"
#include "removal_memory.hpp"
#include "state_marker.hpp"

namespace progress::bridge {
namespace {

using fixtures::state;

constexpr broker_view marker_at(std::uint64_t marker) {
  return broker_view{marker, true};
}

TEST(ReplayRule, AChangeBeforeTheBrokersMarkerIsInItsSnapshot) {
  EXPECT_FALSE(maybe_lost(10, marker_at(10)));
  EXPECT_FALSE(maybe_lost(9, marker_at(10)));
  EXPECT_TRUE(maybe_lost(11, marker_at(10)));
}

TEST(ReplayRule, NoMarkerMeansLostOnlyWhenTheBrokerHadAcknowledgedOne) {
  EXPECT_TRUE(maybe_lost(1, broker_view{std::nullopt, true}));
  // A bridge that never had a marker acknowledged cannot tell: the plain sweep.
  EXPECT_FALSE(maybe_lost(1, broker_view{std::nullopt, false}));
}

TEST(ReplayRule, AnAbsentJobIsRemovedOrPublishedAgain) {
  EXPECT_EQ(absent_job(5, marker_at(10)), absent_job_verdict::removed);
  EXPECT_EQ(absent_job(15, marker_at(10)), absent_job_verdict::republish);
  EXPECT_EQ(absent_job(15, broker_view{}), absent_job_verdict::removed);
  EXPECT_TRUE(republish_newer(15, marker_at(10)));
  EXPECT_FALSE(republish_newer(5, marker_at(10)));
}

TEST(ReplayRule, AReturningJobIsRemovedAgainUnlessItIsNewerThanTheRemovedOne) {
  const auto removed = state(job_status::completed, 7);
  // The removal came after the marker: the broker may have lost it.
  EXPECT_TRUE(republish_removal(20, removed, state(job_status::completed, 7), marker_at(10)));
  EXPECT_TRUE(republish_removal(20, removed, state(job_status::in_progress, 5), marker_at(10)));
  // A newer state (a new attempt) was published after the removal: it stays.
  EXPECT_FALSE(republish_removal(20, removed, state(job_status::queued, 1, 2), marker_at(10)));
  // The broker saved the removal: what comes back was published again since.
  EXPECT_FALSE(republish_removal(5, removed, state(job_status::completed, 7), marker_at(10)));
}

TEST(StateMarker, PayloadRoundTrips) {
  const state_marker marker{(std::uint64_t{3} << 40) + 17, 1795000000000, "9f3c0a17d2b84e65"};
  const auto payload = to_payload(marker);
  EXPECT_EQ(payload, R"({"marker":3298534883345,"sentAt":1795000000000,"store":"9f3c0a17d2b84e65"})");
  const auto parsed = parse_state_marker(payload);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->marker, marker.marker);
  EXPECT_EQ(parsed->sent_at_ms, marker.sent_at_ms);
  EXPECT_EQ(parsed->store_id, marker.store_id);
  EXPECT_EQ(state_marker_topic("progress-bridge"), "bridge/state/progress-bridge");
}

TEST(StateMarker, AnythingElseIsNoMarker) {
  for (const char* bad : {"", "1", "{}", R"({"marker":-1,"sentAt":1,"store":"s"})", R"({"marker":1,"store":"s"})",
                          R"({"marker":1,"sentAt":1,"store":2})", R"({"marker":"1","sentAt":1,"store":"s"})"}) {
    EXPECT_FALSE(parse_state_marker(bad)) << bad;
  }
}

class recording_ledger : public broker_ledger {
 public:
  void marker_acknowledged(const marker_record& record) override { markers.push_back(record.marker); }
  void removal_remembered(const removal_record& record) override { remembered.push_back(record.key); }
  void removal_forgotten(const job_key& key) override { forgotten.push_back(key); }

  std::vector<std::uint64_t> markers;
  std::vector<job_key> remembered;
  std::vector<job_key> forgotten;
};

removal_record removal(const std::string& job, std::uint64_t revision, std::int64_t at) {
  return removal_record{job_key{"alice", job}, revision, at, state(job_status::completed, 1)};
}

TEST(RemovalMemory, RemembersForAnHourAndTellsTheLedger) {
  recording_ledger ledger;
  removal_memory memory{removal_limits{}, {}, &ledger, 0};
  memory.remember(removal("a", 1, 1000), 1000);
  ASSERT_NE(memory.find(job_key{"alice", "a"}, 1000), nullptr);
  EXPECT_EQ(memory.find(job_key{"alice", "a"}, 1000)->revision, 1u);
  EXPECT_EQ(ledger.remembered.size(), 1u);

  const std::int64_t hour = 3600 * 1000;
  EXPECT_NE(memory.find(job_key{"alice", "a"}, 1000 + hour), nullptr);
  EXPECT_EQ(memory.find(job_key{"alice", "a"}, 1001 + hour), nullptr);
  ASSERT_EQ(ledger.forgotten.size(), 1u);
  EXPECT_EQ(memory.size(), 0u);
}

TEST(RemovalMemory, TheOldestIsForgottenFirstAndSavedOnesComeBackWithinTheLimits) {
  recording_ledger ledger;
  removal_memory memory{removal_limits{.max_removals = 2}, {removal("old", 1, 0), removal("saved", 2, 10)}, &ledger,
                        3600 * 1000 + 5};
  EXPECT_EQ(memory.size(), 1u) << "the removal older than an hour is forgotten at once";
  memory.remember(removal("b", 3, 20), 30);
  memory.remember(removal("c", 4, 30), 30);
  EXPECT_EQ(memory.size(), 2u);
  EXPECT_EQ(memory.find(job_key{"alice", "saved"}, 30), nullptr);
  EXPECT_NE(memory.find(job_key{"alice", "c"}, 30), nullptr);
  memory.forget(job_key{"alice", "c"});
  EXPECT_EQ(memory.find(job_key{"alice", "c"}, 30), nullptr);
  EXPECT_EQ(ledger.forgotten.back(), (job_key{"alice", "c"}));
}

}  // namespace
}  // namespace progress::bridge
