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

connection_slot::connection_slot(std::shared_ptr<connection_table> table, std::string key)
    : table_(std::move(table)), key_(std::move(key)) {}

connection_slot::connection_slot(connection_slot&& other) noexcept
    : table_(std::move(other.table_)), key_(std::move(other.key_)) {
  other.table_.reset();
}

connection_slot& connection_slot::operator=(connection_slot&& other) noexcept {
  if (this != &other) {
    release();
    table_ = std::move(other.table_);
    key_ = std::move(other.key_);
    other.table_.reset();
  }
  return *this;
}

connection_slot::~connection_slot() {
  release();
}

bool connection_slot::rekey(const std::string& key) {
  if (!table_ || key == key_) return true;
  if (!table_->move(key_, key)) return false;
  key_ = key;
  return true;
}

void connection_slot::release() noexcept {
  if (!table_) return;
  table_->release(key_);
  table_.reset();
}

connection_table::connection_table(connection_limits limits) : limits_(limits) {}

connection_slot connection_table::admit(const std::string& key, connection_refusal& refusal) {
  std::lock_guard lock{mutex_};
  refusal = connection_refusal::none;
  if (open_ >= limits_.max_connections) {
    refusal = connection_refusal::max_connections;
    return {};
  }
  if (!key.empty()) {
    auto& count = per_key_[key];
    if (count >= limits_.max_per_address) {
      refusal = connection_refusal::per_address;
      return {};
    }
    ++count;
  }
  ++open_;
  return connection_slot{shared_from_this(), key};
}

std::size_t connection_table::open() const {
  std::lock_guard lock{mutex_};
  return open_;
}

bool connection_table::move(const std::string& from, const std::string& to) {
  std::lock_guard lock{mutex_};
  if (!to.empty()) {
    auto& count = per_key_[to];
    if (count >= limits_.max_per_address) return false;
    ++count;
  }
  if (!from.empty()) {
    if (auto found = per_key_.find(from); found != per_key_.end() && --found->second == 0)
      per_key_.erase(found);
  }
  return true;
}

void connection_table::release(const std::string& key) noexcept {
  std::lock_guard lock{mutex_};
  --open_;
  if (key.empty()) return;
  if (auto found = per_key_.find(key); found != per_key_.end() && --found->second == 0) per_key_.erase(found);
}

}  // namespace progress::bridge
