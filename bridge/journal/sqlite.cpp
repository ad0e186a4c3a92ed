#include "sqlite.hpp"

#include <sqlite3.h>

namespace progress::bridge::sqlite {

bool error::full() const noexcept {
  return code_ == SQLITE_FULL;
}

database::database(const std::filesystem::path& file) {
  const int code = sqlite3_open_v2(file.c_str(), &handle_,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (code != SQLITE_OK) {
    const std::string message = handle_ ? sqlite3_errmsg(handle_) : sqlite3_errstr(code);
    sqlite3_close(handle_);
    handle_ = nullptr;
    throw error(code, "cannot open " + file.string() + ": " + message);
  }
  sqlite3_extended_result_codes(handle_, 0);
}

database::~database() {
  sqlite3_close_v2(handle_);
}

void database::fail(int code, std::string_view doing) {
  throw error(code & 0xff, std::string(doing) + ": " + sqlite3_errmsg(handle_));
}

void database::exec(std::string_view sql) {
  const std::string text{sql};
  const int code = sqlite3_exec(handle_, text.c_str(), nullptr, nullptr, nullptr);
  if (code != SQLITE_OK) fail(code, text);
}

std::int64_t database::query_integer(std::string_view sql) {
  statement query{*this, sql};
  if (!query.next()) return 0;
  const auto value = query.integer(0);
  while (query.next()) {
  }
  return value;
}

statement::statement(database& db, std::string_view sql) : db_{db} {
  const int code =
      sqlite3_prepare_v3(db.handle(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &handle_,
                         nullptr);
  if (code != SQLITE_OK) db.fail(code, "prepare " + std::string(sql));
}

statement::~statement() {
  sqlite3_finalize(handle_);
}

statement& statement::bind(int index, std::int64_t value) {
  const int code = sqlite3_bind_int64(handle_, index, value);
  if (code != SQLITE_OK) db_.fail(code, "bind");
  return *this;
}

statement& statement::bind(int index, std::string_view text) {
  const int code =
      sqlite3_bind_text64(handle_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (code != SQLITE_OK) db_.fail(code, "bind");
  return *this;
}

void statement::run() {
  while (next()) {
  }
}

bool statement::next() {
  const int code = sqlite3_step(handle_);
  if (code == SQLITE_ROW) return true;
  reset();
  if (code != SQLITE_DONE) db_.fail(code, sqlite3_sql(handle_));
  return false;
}

void statement::reset() {
  sqlite3_reset(handle_);
  sqlite3_clear_bindings(handle_);
}

std::int64_t statement::integer(int column) const {
  return sqlite3_column_int64(handle_, column);
}

std::string_view statement::text(int column) const {
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(handle_, column));
  const auto size = static_cast<std::size_t>(sqlite3_column_bytes(handle_, column));
  return data == nullptr ? std::string_view{} : std::string_view{data, size};
}

bool statement::is_null(int column) const {
  return sqlite3_column_type(handle_, column) == SQLITE_NULL;
}

transaction::transaction(database& db) : db_{db} {
  db_.exec("BEGIN IMMEDIATE");
}

transaction::~transaction() {
  if (!open_) return;
  // A failed statement may already have rolled the transaction back.
  if (sqlite3_get_autocommit(db_.handle()) == 0) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void transaction::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

}  // namespace progress::bridge::sqlite
