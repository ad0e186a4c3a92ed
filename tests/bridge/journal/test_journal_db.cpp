// The journal's log: how replaying it rebuilds each job's timeline, and how a
// database of the earlier schema moves to it.
#include "journal_db.hpp"

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "temp_dir.hpp"

namespace progress::bridge {
namespace {

job_state running(std::int64_t seq) {
  job_state s;
  s.status = job_status::in_progress;
  s.seq = seq;
  s.attempt = 1;
  s.progress = static_cast<double>(seq);
  return s;
}

class JournalDb : public ::testing::Test {
 protected:
  [[nodiscard]] std::filesystem::path file() const { return dir_ / "journal.db"; }
  [[nodiscard]] journal_db open() const { return journal_db{file(), 0, std::uint64_t{64} << 20}; }

  static job_write upsert(const apply_result& result) {
    return job_write{job_write::kind::upsert, result.key, result.job, result.event, 0};
  }

  // What a new run restores from the file: each job's event seqs, in restore order.
  [[nodiscard]] std::vector<std::pair<job_key, std::vector<std::int64_t>>> restored() const {
    std::vector<std::pair<job_key, std::vector<std::int64_t>>> out;
    auto db = open();
    db.load_jobs(
        [&](restored_job saved) {
          std::vector<std::int64_t> seqs;
          for (const auto& event : saved.history) seqs.push_back(event->seq);
          EXPECT_EQ(saved.json.get(), &saved.history.back()->json);
          EXPECT_EQ(saved.revision, saved.history.back()->revision);
          out.emplace_back(saved.key, std::move(seqs));
        },
        [](const job_key& key) { ADD_FAILURE() << "broken: " << key.user_id << "/" << key.job_id; });
    return out;
  }

  const test::temp_dir dir_{"progress-journal-db"};
};

using seqs = std::vector<std::int64_t>;

// A dirty job is copied from the store as it is when the batch is written; the
// changes the copy already holds are still queued and come after it.
TEST_F(JournalDb, ChangesACopyAlreadyHoldsAreNotAddedTwice) {
  const job_key k{"alice", "copied"};
  job_store store;
  std::vector<apply_result> made;
  for (int seq = 1; seq <= 3; ++seq) made.push_back(store.apply(k, running(seq), seq));
  {
    auto db = open();
    journal_batch copy;
    copy.dirty.insert(k);
    db.write(copy, store);
    journal_batch queued;
    for (const auto& result : made) queued.writes.push_back(upsert(result));
    queued.writes.push_back(upsert(store.apply(k, running(4), 4)));
    db.write(queued, store);
  }
  const auto jobs = restored();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].second, (seqs{1, 2, 3, 4}));
}

TEST_F(JournalDb, TrimsRemovalsAndAFirstEventReplayInOrder) {
  const job_key trimmed{"alice", "trimmed"};
  const job_key again{"alice", "again"};
  const job_key gone{"bob", "gone"};
  job_store store{store_limits{.history_per_job = 2}};
  {
    auto db = open();
    journal_batch batch;
    const auto push = [&](const apply_result& result) {
      batch.writes.push_back(upsert(result));
      for (const auto& trim : result.trimmed)
        batch.writes.push_back(job_write{job_write::kind::trim, trim.key, nullptr, nullptr, trim.first_seq});
    };
    for (int seq = 1; seq <= 3; ++seq) push(store.apply(again, running(seq), seq));
    push(store.apply(gone, running(1), 10));
    for (int seq = 1; seq <= 5; ++seq) push(store.apply(trimmed, running(seq), 20 + seq));
    batch.writes.push_back(job_write{job_write::kind::remove, again, nullptr, nullptr, 0});
    batch.writes.push_back(job_write{job_write::kind::remove, gone, nullptr, nullptr, 0});
    // `again` made anew: its events count from 1 again.
    ASSERT_EQ(store.remove(again).outcome, apply_outcome::removed);
    push(store.apply(again, running(1), 100));
    db.write(batch, store);
  }
  const auto jobs = restored();
  ASSERT_EQ(jobs.size(), 2u);
  // Ascending revision order: `trimmed` changed before `again` was made anew.
  EXPECT_EQ(jobs[0].first, trimmed);
  EXPECT_EQ(jobs[0].second, (seqs{4, 5}));
  EXPECT_EQ(jobs[1].first, again);
  EXPECT_EQ(jobs[1].second, (seqs{1}));
}

TEST_F(JournalDb, ARewriteKeepsOnlyWhatTheStoreHolds) {
  const job_key k{"alice", "busy"};
  job_store store{store_limits{.history_per_job = 3}};
  {
    journal_db db{file(), 0, 1};  // any log is past this floor
    journal_batch batch;
    for (int seq = 1; seq <= 50; ++seq) batch.writes.push_back(upsert(store.apply(k, running(seq), seq)));
    db.write(batch, store);  // the log was empty: appended
    journal_batch next;
    next.writes.push_back(upsert(store.apply(k, running(51), 51)));
    db.write(next, store);  // rewritten
    EXPECT_EQ(db.rewrites(), 1u);
  }
  sqlite::database raw{file()};
  EXPECT_EQ(raw.query_integer("SELECT count(*) FROM log"), 3);
  const auto jobs = restored();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].second, (seqs{49, 50, 51}));
}

// Schema 1 kept a row per job and a table of events; the event at latest_seq
// was the state (a later one was never committed with its job row).
TEST_F(JournalDb, ASchemaOneDatabaseMovesToTheLog) {
  const auto state_json = [](const job_key& key, std::int64_t seq) {
    auto state = running(seq);
    state.user_id = key.user_id;
    state.job_id = key.job_id;
    std::string json;
    append_json(json, state, 1000 + seq);
    return json;
  };
  {
    sqlite::database old{file()};
    old.exec(R"sql(
      CREATE TABLE meta(name TEXT PRIMARY KEY, value) WITHOUT ROWID;
      CREATE TABLE jobs(user_id TEXT NOT NULL, job_id TEXT NOT NULL, revision INTEGER NOT NULL,
        latest_seq INTEGER NOT NULL, PRIMARY KEY(user_id, job_id)) WITHOUT ROWID;
      CREATE TABLE events(user_id TEXT NOT NULL, job_id TEXT NOT NULL, seq INTEGER NOT NULL,
        revision INTEGER NOT NULL, updated_at INTEGER NOT NULL, json TEXT NOT NULL,
        PRIMARY KEY(user_id, job_id, seq));
      CREATE TABLE removals(user_id TEXT NOT NULL, job_id TEXT NOT NULL, revision INTEGER NOT NULL,
        removed_at INTEGER NOT NULL, last TEXT NOT NULL, PRIMARY KEY(user_id, job_id)) WITHOUT ROWID;
      INSERT INTO meta VALUES('schema', 1), ('store_id', 'feedfacefeedface'), ('run', 3);
      INSERT INTO jobs VALUES('alice', 'a', 7, 2), ('bob', 'b', 5, 1);
    )sql");
    sqlite::statement event{old, "INSERT INTO events VALUES(?1, ?2, ?3, ?4, ?5, ?6)"};
    const auto add = [&](const job_key& key, std::int64_t seq, std::int64_t revision) {
      const auto json = state_json(key, seq);
      event.bind(1, std::string_view{key.user_id}).bind(2, std::string_view{key.job_id});
      event.bind(3, seq).bind(4, revision).bind(5, 1000 + seq).bind(6, std::string_view{json}).run();
    };
    add(job_key{"alice", "a"}, 1, 6);
    add(job_key{"alice", "a"}, 2, 7);
    add(job_key{"alice", "a"}, 3, 8);  // past latest_seq: not a state
    add(job_key{"bob", "b"}, 1, 5);
  }
  {
    auto db = open();
    EXPECT_EQ(db.store_id(), "feedfacefeedface");
    EXPECT_EQ(db.begin_run(), 4u);
  }
  const auto jobs = restored();
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].first, (job_key{"bob", "b"}));
  EXPECT_EQ(jobs[0].second, (seqs{1}));
  EXPECT_EQ(jobs[1].first, (job_key{"alice", "a"}));
  EXPECT_EQ(jobs[1].second, (seqs{1, 2}));
  sqlite::database raw{file()};
  EXPECT_EQ(raw.query_integer("SELECT value FROM meta WHERE name = 'schema'"), 2);
  EXPECT_EQ(raw.query_integer("SELECT count(*) FROM sqlite_master WHERE name IN ('jobs', 'events')"), 0);
}

}  // namespace
}  // namespace progress::bridge
