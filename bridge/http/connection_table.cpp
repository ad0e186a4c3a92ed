#include "connection_table.hpp"

#include <utility>

namespace progress::bridge {

std::string_view to_string(connection_refusal refusal) noexcept {
  switch (refusal) {
    case connection_refusal::none: return "none";
    case connection_refusal::max_connections: return "max_connections";
    case connection_refusal::per_address: return "per_address";
  }
  return "unknown";
}

connection_slot::connection_slot(std::shared_ptr<connection_table> table, const std::string* key)
    : table_(std::move(table)), key_(key) {}

connection_slot::connection_slot(connection_slot&& other) noexcept
    : table_(std::move(other.table_)), key_(std::exchange(other.key_, nullptr)) {
  other.table_.reset();
}

connection_slot& connection_slot::operator=(connection_slot&& other) noexcept {
  if (this != &other) {
    release();
    table_ = std::move(other.table_);
    key_ = std::exchange(other.key_, nullptr);
    other.table_.reset();
  }
  return *this;
}

connection_slot::~connection_slot() {
  release();
}

const std::string& connection_slot::key() const noexcept {
  static const std::string none;
  return key_ ? *key_ : none;
}

bool connection_slot::rekey(const std::string& key) {
  if (!table_ || key == this->key()) return true;
  return table_->move(key_, key, key_);
}

void connection_slot::release() noexcept {
  if (!table_) return;
  table_->release(key_);
  table_.reset();
  key_ = nullptr;
}

connection_table::connection_table(connection_limits limits) : limits_(limits) {}

connection_slot connection_table::admit(const std::string& key, connection_refusal& refusal) {
  std::lock_guard lock{mutex_};
  refusal = connection_refusal::none;
  if (open_ >= limits_.max_connections) {
    refusal = connection_refusal::max_connections;
    return {};
  }
  const std::string* counted = nullptr;
  if (!key.empty() && !(counted = count_in(key))) {
    refusal = connection_refusal::per_address;
    return {};
  }
  ++open_;
  return connection_slot{shared_from_this(), counted};
}

std::size_t connection_table::open() const {
  std::lock_guard lock{mutex_};
  return open_;
}

bool connection_table::move(const std::string* from, const std::string& to, const std::string*& to_key) {
  std::lock_guard lock{mutex_};
  const std::string* counted = nullptr;
  if (!to.empty() && !(counted = count_in(to))) return false;
  count_out(from);
  to_key = counted;
  return true;
}

void connection_table::release(const std::string* key) noexcept {
  std::lock_guard lock{mutex_};
  --open_;
  count_out(key);
}

const std::string* connection_table::count_in(const std::string& key) {
  auto [entry, added] = per_key_.try_emplace(key, 0);
  if (entry->second >= limits_.max_per_address) {
    if (added) per_key_.erase(entry);  // no zero entries
    return nullptr;
  }
  ++entry->second;
  return &entry->first;
}

void connection_table::count_out(const std::string* key) noexcept {
  if (!key) return;
  if (auto found = per_key_.find(*key); found != per_key_.end() && --found->second == 0)
    per_key_.erase(found);
}

}  // namespace progress::bridge
