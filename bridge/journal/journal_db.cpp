#include "journal_db.hpp"

#include <random>

#include <nlohmann/json.hpp>

#include "progress/protocol/validation.hpp"

namespace progress::bridge {
namespace {

constexpr std::int64_t schema_version = 1;

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS jobs(
  user_id TEXT NOT NULL, job_id TEXT NOT NULL, revision INTEGER NOT NULL, latest_seq INTEGER NOT NULL,
  PRIMARY KEY(user_id, job_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events(
  user_id TEXT NOT NULL, job_id TEXT NOT NULL, seq INTEGER NOT NULL, revision INTEGER NOT NULL,
  updated_at INTEGER NOT NULL, json TEXT NOT NULL,
  PRIMARY KEY(user_id, job_id, seq));
CREATE TABLE IF NOT EXISTS removals(
  user_id TEXT NOT NULL, job_id TEXT NOT NULL, revision INTEGER NOT NULL, removed_at INTEGER NOT NULL,
  last TEXT NOT NULL,
  PRIMARY KEY(user_id, job_id)) WITHOUT ROWID;
)sql";

std::string random_store_id() {
  std::random_device device;
  const auto value = (static_cast<std::uint64_t>(device()) << 32U) | device();
  static constexpr char digits[] = "0123456789abcdef";
  std::string id(16, '0');
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = digits[(value >> (4 * i)) & 0xfU];
  return id;
}

struct saved_state {
  job_state state;
  bool annotated = false;  // the text carried the bridge's annotations
};

// The served JSON of a state carries the bridge's "updatedAt", which may take
// it past the protocol's size limit, and its annotations (`stalled`,
// `cancelRequested`), which are not saved: the job lifecycle derives them again
// from the broker's retained worker statuses and control topics, and from the
// job's silence. Parse it without them.
std::optional<saved_state> parse_saved_state(const job_key& key, std::string_view json) {
  // Usually the protocol's own parser reads it as it is: it skips members it
  // does not know. A text that merely mentions an annotation's name is only
  // serialized again, to the same text.
  if (auto parsed = parse_update(key, json)) {
    const bool annotated = json.find(R"("stalled":)") != std::string_view::npos ||
                           json.find(R"("cancelRequested":)") != std::string_view::npos;
    return saved_state{std::move(*parsed.state), annotated};
  }
  auto document = nlohmann::json::parse(json, nullptr, false);
  if (!document.is_object()) return std::nullopt;
  document.erase("updatedAt");
  const bool annotated = document.erase("stalled") + document.erase("cancelRequested") > 0;
  auto parsed = parse_update(key, document.dump());
  if (!parsed) return std::nullopt;
  return saved_state{std::move(*parsed.state), annotated};
}

std::string ordering_fields(const job_state& state) {
  job_state slim;
  slim.status = state.status;
  slim.attempt = state.attempt;
  slim.seq = state.seq;
  slim.timestamp = state.timestamp;
  std::string out;
  append_json(out, slim);
  return out;
}

}  // namespace

struct journal_db::statements {
  explicit statements(sqlite::database& db)
      : upsert_job{db,
                   "INSERT INTO jobs(user_id, job_id, revision, latest_seq) VALUES(?1, ?2, ?3, ?4) "
                   "ON CONFLICT(user_id, job_id) DO UPDATE SET revision = excluded.revision, "
                   "latest_seq = excluded.latest_seq"},
        put_event{db,
                  "INSERT OR REPLACE INTO events(user_id, job_id, seq, revision, updated_at, json) "
                  "VALUES(?1, ?2, ?3, ?4, ?5, ?6)"},
        trim_events{db, "DELETE FROM events WHERE user_id = ?1 AND job_id = ?2 AND seq < ?3"},
        delete_events{db, "DELETE FROM events WHERE user_id = ?1 AND job_id = ?2"},
        delete_job{db, "DELETE FROM jobs WHERE user_id = ?1 AND job_id = ?2"},
        jobs{db, "SELECT user_id, job_id, revision, latest_seq FROM jobs ORDER BY revision"},
        events{db,
               "SELECT seq, revision, updated_at, json FROM events WHERE user_id = ?1 AND job_id = ?2 "
               "AND seq <= ?3 ORDER BY seq"},
        put_meta{db, "INSERT OR REPLACE INTO meta(name, value) VALUES(?1, ?2)"},
        get_meta{db, "SELECT value FROM meta WHERE name = ?1"},
        remember{db,
                 "INSERT OR REPLACE INTO removals(user_id, job_id, revision, removed_at, last) "
                 "VALUES(?1, ?2, ?3, ?4, ?5)"},
        forget{db, "DELETE FROM removals WHERE user_id = ?1 AND job_id = ?2"},
        removals{db, "SELECT user_id, job_id, revision, removed_at, last FROM removals"} {}

  sqlite::statement upsert_job;
  sqlite::statement put_event;
  sqlite::statement trim_events;
  sqlite::statement delete_events;
  sqlite::statement delete_job;
  sqlite::statement jobs;
  sqlite::statement events;
  sqlite::statement put_meta;
  sqlite::statement get_meta;
  sqlite::statement remember;
  sqlite::statement forget;
  sqlite::statement removals;
};

journal_db::journal_db(const std::filesystem::path& file, std::uint64_t max_bytes)
    : db_{std::make_unique<sqlite::database>(file)} {
  db_->exec("PRAGMA busy_timeout = 5000");
  db_->exec("PRAGMA journal_mode = WAL");
  db_->exec("PRAGMA synchronous = NORMAL");
  // The write-ahead log shrinks back to this after a checkpoint.
  db_->exec("PRAGMA journal_size_limit = 67108864");
  if (max_bytes > 0) {
    const auto page = static_cast<std::uint64_t>(db_->query_integer("PRAGMA page_size"));
    db_->exec("PRAGMA max_page_count = " + std::to_string(std::max<std::uint64_t>(max_bytes / page, 16)));
  }
  db_->exec(schema);
  sql_ = std::make_unique<statements>(*db_);

  sql_->get_meta.bind(1, std::string_view{"schema"});
  const auto version = sql_->get_meta.next() ? sql_->get_meta.integer(0) : 0;
  sql_->get_meta.run();
  if (version > schema_version) {
    throw sqlite::error(0, file.string() + " was written by a newer progress-bridge (schema " +
                               std::to_string(version) + ")");
  }
  sql_->get_meta.bind(1, std::string_view{"store_id"});
  if (sql_->get_meta.next()) store_id_ = std::string{sql_->get_meta.text(0)};
  sql_->get_meta.run();
  if (store_id_.empty()) {
    store_id_ = random_store_id();
    sqlite::transaction made{*db_};
    sql_->put_meta.bind(1, std::string_view{"schema"}).bind(2, schema_version).run();
    sql_->put_meta.bind(1, std::string_view{"store_id"}).bind(2, std::string_view{store_id_}).run();
    made.commit();
  }
}

journal_db::~journal_db() = default;

std::uint64_t journal_db::begin_run() {
  sqlite::transaction run{*db_};
  sql_->get_meta.bind(1, std::string_view{"run"});
  const auto previous = sql_->get_meta.next() ? sql_->get_meta.integer(0) : 0;
  sql_->get_meta.run();
  sql_->put_meta.bind(1, std::string_view{"run"}).bind(2, previous + 1).run();
  run.commit();
  return static_cast<std::uint64_t>(previous + 1);
}

std::optional<marker_record> journal_db::acknowledged_marker() {
  std::optional<marker_record> record;
  sql_->get_meta.bind(1, std::string_view{"marker"});
  if (sql_->get_meta.next()) record = marker_record{static_cast<std::uint64_t>(sql_->get_meta.integer(0)), 0};
  sql_->get_meta.run();
  if (!record) return record;
  sql_->get_meta.bind(1, std::string_view{"marker_sent_at"});
  if (sql_->get_meta.next()) record->sent_at_ms = sql_->get_meta.integer(0);
  sql_->get_meta.run();
  return record;
}

std::vector<removal_record> journal_db::removals() {
  std::vector<removal_record> out;
  auto& query = sql_->removals;
  while (query.next()) {
    removal_record record;
    record.key = job_key{std::string{query.text(0)}, std::string{query.text(1)}};
    record.revision = static_cast<std::uint64_t>(query.integer(2));
    record.removed_at_ms = query.integer(3);
    auto last = parse_update(record.key, query.text(4));
    if (!last) continue;  // unreadable: the removal is not remembered
    record.last = std::move(*last.state);
    out.push_back(std::move(record));
  }
  return out;
}

void journal_db::load_jobs(const std::function<void(restored_job)>& job,
                           const std::function<void(const job_key&)>& broken) {
  auto& jobs = sql_->jobs;
  auto& events = sql_->events;
  while (jobs.next()) {
    restored_job saved;
    saved.key = job_key{std::string{jobs.text(0)}, std::string{jobs.text(1)}};
    saved.revision = static_cast<std::uint64_t>(jobs.integer(2));
    const auto latest_seq = jobs.integer(3);
    events.bind(1, std::string_view{saved.key.user_id}).bind(2, std::string_view{saved.key.job_id}).bind(3, latest_seq);
    while (events.next()) {
      saved.history.push_back(std::make_shared<const job_event>(
          job_event{events.integer(0), static_cast<std::uint64_t>(events.integer(1)), events.integer(2),
                    std::make_shared<const std::string>(events.text(3))}));
    }
    std::optional<saved_state> state;
    if (!saved.history.empty() && saved.history.back()->seq == latest_seq) {
      state = parse_saved_state(saved.key, *saved.history.back()->json);
    }
    if (!state) {
      broken(saved.key);
      continue;
    }
    saved.state = std::move(state->state);
    saved.updated_at_ms = saved.history.back()->updated_at_ms;
    saved.json = saved.history.back()->json;
    if (state->annotated) {
      std::string json;
      append_json(json, saved.state, saved.updated_at_ms);
      saved.json = std::make_shared<const std::string>(std::move(json));
    }
    job(std::move(saved));
  }
}

void journal_db::upsert(const job_key& key, const stored_job& job, const job_event& event) {
  // The first event of a job: nothing of an earlier job with this id may stay.
  if (event.seq == 1) {
    sql_->delete_events.bind(1, std::string_view{key.user_id}).bind(2, std::string_view{key.job_id}).run();
  }
  put_job(key, job.revision, event.seq);
  put_event(key, event);
}

void journal_db::put_job(const job_key& key, std::uint64_t revision, std::int64_t latest_seq) {
  sql_->upsert_job.bind(1, std::string_view{key.user_id})
      .bind(2, std::string_view{key.job_id})
      .bind(3, static_cast<std::int64_t>(revision))
      .bind(4, latest_seq)
      .run();
}

void journal_db::put_event(const job_key& key, const job_event& event) {
  sql_->put_event.bind(1, std::string_view{key.user_id})
      .bind(2, std::string_view{key.job_id})
      .bind(3, event.seq)
      .bind(4, static_cast<std::int64_t>(event.revision))
      .bind(5, event.updated_at_ms)
      .bind(6, std::string_view{*event.json})
      .run();
}

void journal_db::delete_job(const job_key& key) {
  sql_->delete_job.bind(1, std::string_view{key.user_id}).bind(2, std::string_view{key.job_id}).run();
  sql_->delete_events.bind(1, std::string_view{key.user_id}).bind(2, std::string_view{key.job_id}).run();
}

void journal_db::trim_job(const job_key& key, std::int64_t first_seq) {
  sql_->trim_events.bind(1, std::string_view{key.user_id}).bind(2, std::string_view{key.job_id}).bind(3, first_seq).run();
}

// The job as the store holds it now, timeline and all.
void journal_db::copy_job(const job_key& key, const job_store& store) {
  const auto history = store.history(key);
  if (!history || history->empty()) return delete_job(key);
  sql_->delete_events.bind(1, std::string_view{key.user_id}).bind(2, std::string_view{key.job_id}).run();
  for (const auto& event : *history) put_event(key, *event);
  // The newest event is the state, and carries the revision that made it.
  put_job(key, history->back()->revision, history->back()->seq);
}

void journal_db::apply(const ledger_op& op) {
  const auto& record = op.record;
  if (!op.remember) {
    sql_->forget.bind(1, std::string_view{record.key.user_id}).bind(2, std::string_view{record.key.job_id}).run();
    return;
  }
  sql_->remember.bind(1, std::string_view{record.key.user_id})
      .bind(2, std::string_view{record.key.job_id})
      .bind(3, static_cast<std::int64_t>(record.revision))
      .bind(4, record.removed_at_ms)
      .bind(5, std::string_view{ordering_fields(record.last)})
      .run();
}

std::size_t journal_db::write(const journal_batch& batch, const job_store& store) {
  std::size_t written = 0;
  sqlite::transaction write{*db_};
  if (batch.everything) {
    db_->exec("DELETE FROM jobs; DELETE FROM events;");
    for (const auto& job : store.snapshot().jobs) {
      copy_job(job->key, store);
      ++written;
    }
  }
  for (const auto& key : batch.dirty) {
    copy_job(key, store);
    ++written;
  }
  for (const auto& change : batch.writes) {
    switch (change.what) {
      case job_write::kind::upsert: upsert(change.key, *change.job, *change.event); break;
      case job_write::kind::trim: trim_job(change.key, change.first_seq); break;
      case job_write::kind::remove: delete_job(change.key); break;
    }
    ++written;
  }
  if (batch.marker) {
    sql_->put_meta.bind(1, std::string_view{"marker"}).bind(2, static_cast<std::int64_t>(batch.marker->marker)).run();
    sql_->put_meta.bind(1, std::string_view{"marker_sent_at"}).bind(2, batch.marker->sent_at_ms).run();
  }
  for (const auto& op : batch.ledger) apply(op);
  write.commit();
  return written;
}

}  // namespace progress::bridge
