// The journal: what one bridge wrote, the next one serves.
#include "journal.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "prometheus_scrape.hpp"
#include "temp_dir.hpp"

namespace progress::bridge {
namespace {

using namespace std::chrono_literals;
using test::metric_total;

job_state running(std::int64_t seq, double progress = 0) {
  job_state s;
  s.status = job_status::in_progress;
  s.seq = seq;
  s.attempt = 1;
  s.progress = progress;
  return s;
}

class Journal : public ::testing::Test {
 protected:
  // One run of the bridge: a store, its journal, and what the journal loaded.
  struct run {
    job_store store;
    metrics meters;
    std::unique_ptr<journal> log;
    ledger_state ledger;

    run(const std::filesystem::path& dir, store_limits limits, journal_options options) : store{limits} {
      options.dir = dir;
      log = std::make_unique<journal>(options, store, meters);
      ledger = log->load();
      log->start();
    }
    apply_result apply(const job_key& key, const job_state& state, std::int64_t now) {
      auto result = store.apply(key, state, now);
      log->record(result);
      return result;
    }
  };

  std::unique_ptr<run> start(store_limits limits = {}, journal_options options = {}) {
    return std::make_unique<run>(dir_.path(), limits, options);
  }

  const test::temp_dir dir_{"progress-journal"};
};

TEST_F(Journal, ANewRunServesEveryStateAndTimelineOfTheLast) {
  const job_key a{"alice", "a"};
  const job_key b{"bob", "b"};
  std::uint64_t last_revision = 0;
  {
    auto first = start();
    for (int seq = 1; seq <= 5; ++seq) first->apply(a, running(seq, seq * 10), 1000 + seq);
    last_revision = first->apply(b, running(1, 50), 2000).revision;
    first->log->stop();
  }
  auto second = start();
  const auto job = second->store.find(a);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->facts.seq, 5);
  EXPECT_EQ(job->facts.progress, 50);
  EXPECT_EQ(job->updated_at_ms, 1005);
  EXPECT_EQ(nlohmann::json::parse(*job->json)["updatedAt"], 1005);
  const auto events = *second->store.history(a);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events.front()->seq, 1);
  EXPECT_EQ(nlohmann::json::parse(events.front()->json)["progress"], 10.0);
  EXPECT_EQ(&events.back()->json, job->json.get());

  // The same order and revisions; new changes come above anything the last run used.
  EXPECT_EQ(second->store.find(b)->revision, last_revision);
  EXPECT_EQ(second->store.list(job_query{}).jobs.front()->key, b);
  const auto next = second->apply(a, running(6), 3000);
  EXPECT_GT(next.revision, std::uint64_t{1} << 40);
  EXPECT_EQ(next.event->seq, 6);
  EXPECT_FALSE(second->ledger.store_id.empty());
}

TEST_F(Journal, RemovalsTrimsAndEvictionsAreNotServedAgain) {
  const job_key gone{"alice", "gone"};
  const job_key trimmed{"alice", "trimmed"};
  std::string store_id;
  {
    auto first = start(store_limits{.history_per_job = 2});
    first->apply(gone, running(1), 1);
    first->log->record(first->store.remove(gone));
    for (int seq = 1; seq <= 4; ++seq) first->apply(trimmed, running(seq), seq);
    store_id = first->ledger.store_id;
  }  // destroyed: the journal writes what waits
  auto second = start(store_limits{.history_per_job = 2});
  EXPECT_FALSE(second->store.find(gone));
  ASSERT_EQ(second->store.history(trimmed)->size(), 2u);
  EXPECT_EQ(second->store.history(trimmed)->front()->seq, 3);
  EXPECT_EQ(second->ledger.store_id, store_id);
}

TEST_F(Journal, AJobRemovedAndMadeAgainKeepsNothingOfTheOldOne) {
  const job_key k{"alice", "again"};
  {
    auto first = start();
    for (int seq = 1; seq <= 3; ++seq) first->apply(k, running(seq), seq);
    first->log->record(first->store.remove(k));
    first->apply(k, running(1, 99), 10);
  }
  auto second = start();
  const auto events = *second->store.history(k);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(second->store.find(k)->facts.progress, 99);
}

// Annotations are derived again after a restart (worker statuses, control
// topics, silence), so a saved state comes back without them.
TEST_F(Journal, SavedStatesComeBackWithoutTheBridgesAnnotations) {
  const job_key k{"alice", "noted"};
  {
    auto first = start();
    first->apply(k, running(1, 10), 1000);
    first->log->record(first->store.annotate(k, [](job_annotations& notes) {
      notes.cancel_requested = cancel_mark{"r1", "alice", 1100};
    }));
    first->apply(k, running(2, 20), 1200);  // keeps the cancel request, in its event too
    first->log->record(first->store.annotate(k, [](job_annotations& notes) {
      notes.stalled = stall_mark{stall_reason::silent, 1300};
    }));
    ASSERT_NE(first->store.find(k)->json->find("stalled"), std::string::npos);
    first->log->stop();
  }
  auto second = start();
  const auto job = second->store.find(k);
  ASSERT_TRUE(job);
  EXPECT_TRUE(job->notes.empty());
  EXPECT_EQ(job->facts.progress, 20);
  const auto served = nlohmann::json::parse(*job->json);
  EXPECT_FALSE(served.contains("cancelRequested")) << *job->json;
  EXPECT_FALSE(served.contains("stalled")) << *job->json;
  EXPECT_EQ(served["updatedAt"], 1200);
  EXPECT_EQ(second->store.history(k)->size(), 2u);
}

TEST_F(Journal, TodaysSmallerLimitsApplyToWhatWasSaved) {
  {
    auto first = start();
    for (int job = 0; job < 3; ++job)
      first->apply(job_key{"alice", "j" + std::to_string(job)}, running(1), job);
  }
  {
    auto second = start(store_limits{.jobs_per_user = 2});
    // Restored oldest first: the third running job is refused like a new one.
    EXPECT_EQ(second->store.size(), 2u);
    EXPECT_FALSE(second->store.find(job_key{"alice", "j2"}));
  }
  auto third = start();
  EXPECT_EQ(third->store.size(), 2u);  // and it was deleted from the journal
}

TEST_F(Journal, AnOverflowingQueueStillWritesEveryJobAsTheStoreHoldsIt) {
  const job_key k{"alice", "busy"};
  {
    auto first = start(
        {}, journal_options{
                .dir = {}, .max_bytes = 0, .limits = journal_limits{.max_changes = 2}, .linger = 200ms});
    for (int seq = 1; seq <= 20; ++seq)
      first->apply(job_key{"alice", "j" + std::to_string(seq)}, running(seq), seq);
    for (int seq = 1; seq <= 5; ++seq) first->apply(k, running(seq), 100 + seq);
  }
  auto second = start();
  EXPECT_EQ(second->store.size(), 21u);
  EXPECT_EQ(second->store.history(k)->size(), 5u);
}

TEST_F(Journal, TheIngestsLedgerSurvivesARestart) {
  const job_key removed{"alice", "removed"};
  const job_key forgotten{"alice", "forgotten"};
  {
    auto first = start();
    removal_record record{removed, 42, 1234, running(7)};
    first->log->removal_remembered(record);
    first->log->removal_remembered(removal_record{forgotten, 43, 1235, running(1)});
    first->log->removal_forgotten(forgotten);
    first->log->marker_acknowledged(marker_record{40, 999});
    first->log->marker_acknowledged(marker_record{41, 1000});
  }
  auto second = start();
  ASSERT_TRUE(second->ledger.acknowledged);
  EXPECT_EQ(second->ledger.acknowledged->marker, 41u);
  EXPECT_EQ(second->ledger.acknowledged->sent_at_ms, 1000);
  ASSERT_EQ(second->ledger.removals.size(), 1u);
  const auto& record = second->ledger.removals[0];
  EXPECT_EQ(record.key, removed);
  EXPECT_EQ(record.revision, 42u);
  EXPECT_EQ(record.removed_at_ms, 1234);
  EXPECT_EQ(record.last.seq, 7);
  EXPECT_EQ(record.last.status, job_status::in_progress);
}

TEST_F(Journal, ASecondBridgeCannotUseTheSameDirectory) {
  auto first = start();
  job_store other;
  metrics meters;
  EXPECT_THROW(journal(journal_options{.dir = dir_.path(), .max_bytes = 0, .limits = {}}, other, meters),
               std::runtime_error);
}

TEST_F(Journal, AFullDatabaseIsCountedAndTheStoreKeepsServing) {
  auto first = start({}, journal_options{.dir = {}, .max_bytes = 64 * 1024, .limits = {}});
  auto big = running(1);
  big.details = nlohmann::json{{"blob", std::string(40 * 1024, 'x')}};
  for (int seq = 1; seq <= 10; ++seq) {
    big.seq = seq;
    first->apply(job_key{"alice", "big"}, big, seq);
  }
  const auto failed = [&] {
    return metric_total(first->meters.scrape(), "progress_bridge_journal_write_errors_total") > 0;
  };
  for (int i = 0; i < 100 && !failed(); ++i) std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(failed());
  EXPECT_EQ(metric_total(first->meters.scrape(), "progress_bridge_journal_healthy"), 0);
  EXPECT_EQ(first->store.find(job_key{"alice", "big"})->facts.seq, 10);
  EXPECT_GT(metric_total(first->meters.scrape(), "progress_bridge_journal_backlog"), 0);
}

// The log grows until appending finds the database full; that transaction is
// then made again as a rewrite of the log from the store, which fits.
TEST_F(Journal, AFullDatabaseIsRewrittenFromTheStoreAndWritingGoesOn) {
  const job_key k{"alice", "chatty"};
  const store_limits limits{.history_per_job = 3};
  {
    auto first =
        start(limits, journal_options{.dir = {}, .max_bytes = 256 * 1024, .limits = {}, .batch = 20});
    auto state = running(1);
    state.details = nlohmann::json{{"blob", std::string(2000, 'x')}};
    const auto settled = [&] {
      return metric_total(first->meters.scrape(), "progress_bridge_journal_backlog") == 0;
    };
    for (int seq = 1; seq <= 400; ++seq) {
      state.seq = seq;
      first->apply(k, state, seq);
      if (seq % 20 != 0) continue;
      for (int i = 0; i < 200 && !settled(); ++i) std::this_thread::sleep_for(50ms);
      ASSERT_TRUE(settled()) << "at seq " << seq;
    }
    // 400 events of 2 KB do not fit in 256 KiB: the log was full at least once.
    EXPECT_GT(metric_total(first->meters.scrape(), "progress_bridge_journal_rewrites_total"), 0);
    EXPECT_EQ(metric_total(first->meters.scrape(), "progress_bridge_journal_write_errors_total"), 0);
    EXPECT_EQ(metric_total(first->meters.scrape(), "progress_bridge_journal_healthy"), 1);
  }
  auto second = start(limits);
  ASSERT_TRUE(second->store.find(k));
  EXPECT_EQ(second->store.find(k)->facts.seq, 400);
  ASSERT_EQ(second->store.history(k)->size(), 3u);
  EXPECT_EQ(second->store.history(k)->front()->seq, 398);
}

}  // namespace
}  // namespace progress::bridge
