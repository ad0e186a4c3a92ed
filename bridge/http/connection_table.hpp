#pragma once
// The open connections of one listener, in total and per client key
// (client_address.hpp), so that neither the whole bridge nor one address can
// hold more than its share. A connection holds a connection_slot from accept
// until its socket closes, whether an http_session or a live stream owns it
// by then.
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace progress::bridge {

struct connection_limits {
  // Connections at most; beyond, a new one is closed right after accept.
  std::size_t max_connections = 10000;
  // Connections from one client key at most; beyond, the same.
  std::size_t max_per_address = 256;
};

// Why a connection was refused: also the metrics label.
enum class connection_refusal { none, max_connections, per_address };

[[nodiscard]] std::string_view to_string(connection_refusal refusal) noexcept;

class connection_table;

// One counted connection; releases its place when destroyed. Move-only.
class connection_slot {
 public:
  connection_slot() = default;
  connection_slot(connection_slot&& other) noexcept;
  connection_slot& operator=(connection_slot&& other) noexcept;
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;
  ~connection_slot();

  [[nodiscard]] explicit operator bool() const noexcept { return table_ != nullptr; }
  // The client key the connection counts under; empty: counted in the total only.
  [[nodiscard]] const std::string& key() const noexcept;

  // Counts the connection under `key` instead (a proxied connection whose
  // client became known; empty: in the total only, between its requests);
  // false, and nothing changed, when `key` is at its cap.
  [[nodiscard]] bool rekey(const std::string& key);

 private:
  friend class connection_table;
  connection_slot(std::shared_ptr<connection_table> table, const std::string* key);
  void release() noexcept;

  std::shared_ptr<connection_table> table_;
  // The key of its entry in the table's count per key (entries stay put, and
  // this one stays while the slot counts in it); null: in the total only.
  const std::string* key_ = nullptr;
};

class connection_table : public std::enable_shared_from_this<connection_table> {
 public:
  explicit connection_table(connection_limits limits);

  // A slot for a new connection from `key` (empty: count it in the total
  // only, e.g. a trusted proxy's), or an empty slot and the reason it is refused.
  [[nodiscard]] connection_slot admit(const std::string& key, connection_refusal& refusal);

  [[nodiscard]] std::size_t open() const;
  [[nodiscard]] const connection_limits& limits() const noexcept { return limits_; }

 private:
  friend class connection_slot;
  // Counts one connection under `to` (empty: the total only) instead of
  // `from`; the key of `to`'s entry, in `to_key`. False at `to`'s cap.
  [[nodiscard]] bool move(const std::string* from, const std::string& to, const std::string*& to_key);
  void release(const std::string* key) noexcept;
  // With mutex_ held: one more connection under `key`; null when at its cap.
  [[nodiscard]] const std::string* count_in(const std::string& key);
  void count_out(const std::string* key) noexcept;

  const connection_limits limits_;
  mutable std::mutex mutex_;
  std::size_t open_ = 0;                                  // guarded by mutex_
  std::unordered_map<std::string, std::size_t> per_key_;  // guarded by mutex_; no zero entries
};

}  // namespace progress::bridge
