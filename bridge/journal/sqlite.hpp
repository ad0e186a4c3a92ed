#pragma once
// The little of SQLite the journal uses, with ownership: a connection, prepared
// statements with bound parameters, and errors as exceptions that carry
// SQLite's result code (SQLITE_FULL tells a full disk or database apart).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace progress::bridge::sqlite {

class error : public std::runtime_error {
 public:
  error(int code, const std::string& what) : std::runtime_error(what), code_{code} {}
  // The primary result code (SQLITE_FULL, SQLITE_IOERR, ...).
  [[nodiscard]] int code() const noexcept { return code_; }
  // The disk or the database is full.
  [[nodiscard]] bool full() const noexcept;

 private:
  int code_;
};

class database;

// One prepared statement; reset after each run so it can run again.
class statement {
 public:
  statement(database& db, std::string_view sql);
  ~statement();
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  // Parameters are numbered from 1, as in SQLite.
  statement& bind(int index, std::int64_t value);
  statement& bind(int index, std::string_view text);  // copied by SQLite
  // Runs a statement that returns no rows.
  void run();
  // Steps to the next row; false when there is none (the statement is then reset).
  bool next();
  [[nodiscard]] std::int64_t integer(int column) const;
  [[nodiscard]] std::string_view text(int column) const;  // valid until the next step
  [[nodiscard]] bool is_null(int column) const;

 private:
  void reset();
  database& db_;
  sqlite3_stmt* handle_ = nullptr;
};

class database {
 public:
  // Opens (creates) the file; throws sqlite::error.
  explicit database(const std::filesystem::path& file);
  ~database();
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  // Runs statements that return nothing (schema, pragmas, BEGIN/COMMIT).
  void exec(std::string_view sql);
  [[nodiscard]] std::int64_t query_integer(std::string_view sql);
  [[nodiscard]] sqlite3* handle() noexcept { return handle_; }
  [[noreturn]] void fail(int code, std::string_view doing);

 private:
  sqlite3* handle_ = nullptr;
};

// A transaction that rolls back unless committed.
class transaction {
 public:
  explicit transaction(database& db);
  ~transaction();
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  void commit();

 private:
  database& db_;
  bool open_ = true;
};

}  // namespace progress::bridge::sqlite
