#include "journal_db.hpp"

#include <algorithm>
#include <random>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "progress/protocol/validation.hpp"

namespace progress::bridge {
namespace {

// 2: the log. 1 kept a row per job and a table of events (migrate_from_tables).
constexpr std::int64_t schema_version = 2;

// What a log row says (see journal_db.hpp).
enum class log_kind : std::int64_t { event = 0, trim = 1, removal = 2 };

// Bytes a row is charged besides its JSON: its key, numbers and B-tree cell.
constexpr std::uint64_t row_charge = 64;

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log(
  id INTEGER PRIMARY KEY, kind INTEGER NOT NULL, user_id TEXT NOT NULL, job_id TEXT NOT NULL,
  seq INTEGER NOT NULL, revision INTEGER NOT NULL, updated_at INTEGER NOT NULL, json TEXT);
CREATE TABLE IF NOT EXISTS removals(
  user_id TEXT NOT NULL, job_id TEXT NOT NULL, revision INTEGER NOT NULL, removed_at INTEGER NOT NULL,
  last TEXT NOT NULL,
  PRIMARY KEY(user_id, job_id)) WITHOUT ROWID;
)sql";

// Schema 1's timelines, in the order schema 2 appends them.
constexpr const char* migration = R"sql(
INSERT INTO log(kind, user_id, job_id, seq, revision, updated_at, json)
  SELECT 0, e.user_id, e.job_id, e.seq, e.revision, e.updated_at, e.json
  FROM jobs j JOIN events e ON e.user_id = j.user_id AND e.job_id = j.job_id AND e.seq <= j.latest_seq
  ORDER BY j.revision, e.seq;
DROP TABLE events;
DROP TABLE jobs;
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
      : append{db,
               "INSERT INTO log(kind, user_id, job_id, seq, revision, updated_at, json) "
               "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
        replay{db, "SELECT kind, user_id, job_id, seq, revision, updated_at, json FROM log ORDER BY id"},
        put_meta{db, "INSERT OR REPLACE INTO meta(name, value) VALUES(?1, ?2)"},
        get_meta{db, "SELECT value FROM meta WHERE name = ?1"},
        remember{db,
                 "INSERT OR REPLACE INTO removals(user_id, job_id, revision, removed_at, last) "
                 "VALUES(?1, ?2, ?3, ?4, ?5)"},
        forget{db, "DELETE FROM removals WHERE user_id = ?1 AND job_id = ?2"},
        removals{db, "SELECT user_id, job_id, revision, removed_at, last FROM removals"} {}

  sqlite::statement append;
  sqlite::statement replay;
  sqlite::statement put_meta;
  sqlite::statement get_meta;
  sqlite::statement remember;
  sqlite::statement forget;
  sqlite::statement removals;
};

// Appends rows to the log in one transaction and counts their bytes.
class journal_db::appender {
 public:
  explicit appender(statements& sql) : sql_{sql} {}

  void event(const job_key& key, const job_event& event) {
    row(log_kind::event, key, event.seq, event.revision, event.updated_at_ms, event.json);
  }
  void trim(const job_key& key, std::int64_t first_seq) { row(log_kind::trim, key, first_seq, 0, 0, {}); }
  void removal(const job_key& key) { row(log_kind::removal, key, 0, 0, 0, {}); }
  // The job's timeline as the store holds it now; nothing when it holds no such job.
  void timeline(const job_key& key, const job_store& store) {
    const auto history = store.history(key);
    if (!history) return;
    for (const auto& saved : *history) event(key, *saved);
  }

  [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_; }
  [[nodiscard]] std::uint64_t rows() const noexcept { return rows_; }

 private:
  void row(log_kind kind, const job_key& key, std::int64_t seq, std::uint64_t revision,
           std::int64_t updated_at_ms, std::optional<std::string_view> json) {
    auto& append = sql_.append;
    append.bind(1, static_cast<std::int64_t>(kind))
        .bind(2, std::string_view{key.user_id})
        .bind(3, std::string_view{key.job_id})
        .bind(4, seq)
        .bind(5, static_cast<std::int64_t>(revision))
        .bind(6, updated_at_ms);
    if (json) append.bind(7, *json);
    append.run();
    bytes_ += row_charge + (json ? json->size() : 0);
    ++rows_;
  }

  statements& sql_;
  std::uint64_t bytes_ = 0;
  std::uint64_t rows_ = 0;
};

journal_db::journal_db(const std::filesystem::path& file, std::uint64_t max_bytes,
                       std::uint64_t rewrite_floor)
    : db_{std::make_unique<sqlite::database>(file)}, rewrite_floor_{rewrite_floor} {
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
  if (version == 1) migrate_from_tables();
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

void journal_db::migrate_from_tables() {
  sqlite::transaction migrate{*db_};
  db_->exec(migration);
  sql_->put_meta.bind(1, std::string_view{"schema"}).bind(2, schema_version).run();
  migrate.commit();
  spdlog::info("journal: moved the saved jobs to the schema {} log", schema_version);
}

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
  using timeline = std::vector<std::shared_ptr<const job_event>>;
  std::unordered_map<job_key, timeline, job_key_hash> jobs;
  std::uint64_t bytes = 0;
  auto& rows = sql_->replay;
  job_key key;
  while (rows.next()) {
    key.user_id.assign(rows.text(1));
    key.job_id.assign(rows.text(2));
    const auto seq = rows.integer(3);
    bytes += row_charge;
    switch (static_cast<log_kind>(rows.integer(0))) {
      case log_kind::event: {
        const auto json = rows.text(6);
        bytes += json.size();
        auto& events = jobs[key];
        // A job's first event: nothing of an earlier job with this id stays.
        if (seq == 1) events.clear();
        // Not newer than the last: a copy of an event it has (a rewrite or a
        // dirty job's copy came first; the changes it already held follow it).
        if (!events.empty() && seq <= events.back()->seq) break;
        events.push_back(std::make_shared<const job_event>(
            job_event{seq, static_cast<std::uint64_t>(rows.integer(4)), rows.integer(5), std::string(json)}));
        break;
      }
      case log_kind::trim: {
        const auto found = jobs.find(key);
        if (found == jobs.end()) break;
        auto& events = found->second;
        events.erase(events.begin(), std::find_if(events.begin(), events.end(),
                                                  [&](const auto& event) { return event->seq >= seq; }));
        if (events.empty()) jobs.erase(found);
        break;
      }
      case log_kind::removal: jobs.erase(key); break;
    }
  }
  log_bytes_ = bytes;

  // The store takes them in the order they were changed: by the revision of
  // their newest event, their state.
  std::vector<decltype(jobs)::iterator> order;
  order.reserve(jobs.size());
  for (auto it = jobs.begin(); it != jobs.end(); ++it) order.push_back(it);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a->second.back()->revision < b->second.back()->revision;
  });
  for (const auto& it : order) {
    // Taken out one by one: the store's memory reuses what each gives back.
    auto node = jobs.extract(it);
    restored_job saved;
    saved.key = std::move(node.key());
    saved.history = std::move(node.mapped());
    const auto& state_event = *saved.history.back();
    auto state = parse_saved_state(saved.key, state_event.json);
    if (!state) {
      broken(saved.key);
      continue;
    }
    saved.state = std::move(state->state);
    saved.revision = state_event.revision;
    saved.updated_at_ms = state_event.updated_at_ms;
    saved.json = shared_json(saved.history.back());
    if (state->annotated) {
      std::string json;
      append_json(json, saved.state, saved.updated_at_ms);
      saved.json = std::make_shared<const std::string>(std::move(json));
    }
    job(std::move(saved));
  }
}

void journal_db::apply(const ledger_op& op) {
  const auto& record = op.record;
  if (!op.remember) {
    sql_->forget.bind(1, std::string_view{record.key.user_id})
        .bind(2, std::string_view{record.key.job_id})
        .run();
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
  const bool rewrite = batch.everything || wants_rewrite(store);
  try {
    return write_batch(batch, store, rewrite);
  } catch (const sqlite::error& error) {
    // Appending more does not fit; the store's jobs alone may.
    if (!error.full() || rewrite) throw;
  }
  return write_batch(batch, store, true);
}

bool journal_db::wants_rewrite(const job_store& store) const {
  return log_bytes_ > std::max<std::uint64_t>(rewrite_floor_, 2 * std::uint64_t{store.bytes()});
}

std::size_t journal_db::write_batch(const journal_batch& batch, const job_store& store, bool rewrite) {
  std::size_t written = 0;
  appender out{*sql_};
  sqlite::transaction write{*db_};
  if (rewrite) {
    // The store holds every change of this batch. Changes it holds that are
    // still queued come again in later batches; replaying them changes nothing.
    db_->exec("DELETE FROM log");
    for (const auto& job : store.snapshot().jobs) {
      out.timeline(job->key, store);
      ++written;
    }
  } else {
    for (const auto& key : batch.dirty) {
      out.removal(key);
      out.timeline(key, store);
      ++written;
    }
    for (const auto& change : batch.writes) {
      switch (change.what) {
        case job_write::kind::upsert: out.event(change.key, *change.event); break;
        case job_write::kind::trim: out.trim(change.key, change.first_seq); break;
        case job_write::kind::remove: out.removal(change.key); break;
      }
      ++written;
    }
  }
  if (batch.marker) {
    sql_->put_meta.bind(1, std::string_view{"marker"})
        .bind(2, static_cast<std::int64_t>(batch.marker->marker))
        .run();
    sql_->put_meta.bind(1, std::string_view{"marker_sent_at"}).bind(2, batch.marker->sent_at_ms).run();
  }
  for (const auto& op : batch.ledger) apply(op);
  write.commit();
  if (rewrite) {
    constexpr double mib = 1 << 20;
    spdlog::info("journal: rewrote the log with {} jobs, {} rows, {:.1f} MiB (it had grown to {:.1f} MiB)",
                 written, out.rows(), static_cast<double>(out.bytes()) / mib,
                 static_cast<double>(log_bytes_) / mib);
    log_bytes_ = 0;
    ++rewrites_;
  }
  log_bytes_ += out.bytes();
  return written;
}

}  // namespace progress::bridge
