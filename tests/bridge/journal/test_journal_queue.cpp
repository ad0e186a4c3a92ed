// The journal's queue: what waits for the writer, and what happens when too much does.
#include "journal_queue.hpp"

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace progress::bridge {
namespace {

using namespace std::chrono_literals;

job_state running(std::int64_t seq) {
  job_state s;
  s.status = job_status::in_progress;
  s.seq = seq;
  return s;
}

job_key key(int job) {
  return job_key{"alice", "j" + std::to_string(job)};
}

TEST(JournalQueue, HandsOverEveryChangeInOrder) {
  job_store store;
  journal_queue queue;
  queue.push(store.apply(key(1), running(1), 1));
  queue.push(store.apply(key(1), running(2), 2));
  queue.push(store.remove(key(1)));
  queue.push(store.apply(key(1), running(3), 3));  // duplicate of nothing: a new job
  const auto batch = queue.take(1000, 0ms);
  ASSERT_EQ(batch.writes.size(), 4u);
  EXPECT_EQ(batch.writes[0].what, job_write::kind::upsert);
  EXPECT_EQ(batch.writes[1].event->seq, 2);
  EXPECT_EQ(batch.writes[2].what, job_write::kind::remove);
  EXPECT_EQ(batch.writes[3].event->seq, 1);
  EXPECT_TRUE(batch.dirty.empty());
  EXPECT_EQ(queue.backlog(), 0u);
}

TEST(JournalQueue, ChangesThatChangeNothingAreNotQueued) {
  job_store store;
  journal_queue queue;
  queue.push(store.apply(key(1), running(1), 1));
  queue.push(store.apply(key(1), running(1), 2));  // duplicate
  queue.push(store.remove(key(2)));                 // not found
  EXPECT_EQ(queue.backlog(), 1u);
}

TEST(JournalQueue, TrimsAndEvictionsAreWrittenToo) {
  job_store store{store_limits{.history_per_job = 1, .jobs_per_user = 1}};
  journal_queue queue;
  auto done = running(1);
  done.status = job_status::completed;
  queue.push(store.apply(key(1), done, 1));
  queue.push(store.apply(key(2), running(1), 2));  // evicts j1
  queue.push(store.apply(key(2), running(2), 3));  // trims j2's first event
  const auto batch = queue.take(1000, 0ms);
  ASSERT_EQ(batch.writes.size(), 5u);
  EXPECT_EQ(batch.writes[1].what, job_write::kind::remove);
  EXPECT_EQ(batch.writes[1].key, key(1));
  EXPECT_EQ(batch.writes[4].what, job_write::kind::trim);
  EXPECT_EQ(batch.writes[4].first_seq, 2);
}

TEST(JournalQueue, WhenFullTheJobsBecomeDirtyAndNothingIsLost) {
  job_store store;
  journal_queue queue{journal_limits{.max_changes = 3}};
  for (int i = 0; i < 5; ++i) queue.push(store.apply(key(i % 2), running(i + 1), i));
  EXPECT_EQ(queue.overflows(), 1u);
  const auto batch = queue.take(1000, 0ms);
  EXPECT_TRUE(batch.writes.empty());
  EXPECT_EQ(batch.dirty, (job_key_set{key(0), key(1)}));
  // Afterwards, changes are queued one by one again.
  queue.push(store.apply(key(0), running(9), 9));
  EXPECT_EQ(queue.take(1000, 0ms).writes.size(), 1u);
}

TEST(JournalQueue, TooManyDirtyJobsMeanCopyingEverything) {
  job_store store;
  journal_queue queue{journal_limits{.max_changes = 1, .max_dirty_jobs = 2}};
  for (int i = 0; i < 4; ++i) queue.push(store.apply(key(i), running(1), i));
  const auto batch = queue.take(1000, 0ms);
  EXPECT_TRUE(batch.everything);
  EXPECT_TRUE(batch.dirty.empty());
  EXPECT_TRUE(batch.writes.empty());
}

TEST(JournalQueue, TheJsonHeldIsBoundedToo) {
  job_store store;
  journal_queue queue{journal_limits{.max_bytes = 300}};
  auto big = running(1);
  big.message = std::string(200, 'm');
  queue.push(store.apply(key(1), big, 1));
  big.seq = 2;
  queue.push(store.apply(key(1), big, 2));
  EXPECT_EQ(queue.overflows(), 1u);
}

TEST(JournalQueue, AFailedBatchComesBackAsDirtyJobsBeforeNewerLedgerOperations) {
  job_store store;
  journal_queue queue;
  queue.push(store.apply(key(1), running(1), 1));
  queue.push_ledger(ledger_op{true, removal_record{key(7), 5, 5, {}}});
  queue.push_marker(marker_record{10, 100});
  auto failed = queue.take(1000, 0ms);
  queue.push(store.apply(key(2), running(1), 2));
  queue.push_ledger(ledger_op{false, removal_record{key(7), 0, 0, {}}});
  queue.put_back(std::move(failed));

  const auto retry = queue.take(1000, 0ms);
  EXPECT_TRUE(retry.writes.empty());
  EXPECT_EQ(retry.dirty, (job_key_set{key(1), key(2)}));
  ASSERT_TRUE(retry.marker);
  EXPECT_EQ(retry.marker->marker, 10u);
  ASSERT_EQ(retry.ledger.size(), 2u);
  EXPECT_TRUE(retry.ledger[0].remember);
  EXPECT_FALSE(retry.ledger[1].remember);
}

TEST(JournalQueue, LedgerOperationsAreBounded) {
  journal_queue queue{journal_limits{.max_ledger_ops = 2}};
  for (int i = 0; i < 3; ++i) queue.push_ledger(ledger_op{true, removal_record{key(i), 1, 1, {}}});
  EXPECT_EQ(queue.ledger_dropped(), 1u);
  const auto batch = queue.take(1000, 0ms);
  ASSERT_EQ(batch.ledger.size(), 2u);
  EXPECT_EQ(batch.ledger[0].record.key, key(1));
}

TEST(JournalQueue, TakeWaitsForWorkAndReturnsEmptyOnceClosed) {
  job_store store;
  journal_queue queue;
  std::thread producer{[&] {
    std::this_thread::sleep_for(20ms);
    queue.push(store.apply(key(1), running(1), 1));
  }};
  const auto batch = queue.take(1000, 10ms);
  producer.join();
  EXPECT_EQ(batch.writes.size(), 1u);
  queue.close();
  EXPECT_TRUE(queue.take(1000, 10s).empty());
}

}  // namespace
}  // namespace progress::bridge
