#pragma once
// Per-key request limiting for the REST endpoints (key = client address or
// user id).

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace progress::bridge {

// A token bucket per key: each key may spend `burst` requests at once, and
// regains `per_second` of them per second, up to `burst` again.
//
// Bounded: at most `max_keys` buckets are kept. When a new key arrives and
// the table is full:
//   1. buckets that have refilled to `burst` are dropped, looking at up to
//      `max_eviction_scan` keys from the least recently used end. Such a
//      bucket is indistinguishable from a fresh one, so nothing is lost;
//   2. if none of those was full, the least recently used key is dropped. It
//      will start again with a full burst: the price of the bound, paid by the
//      key that has waited longest.
//
// per_second <= 0 (or NaN) disables limiting: allow() is always true and no
// state is kept. Thread-safe; one mutex, meant for the REST path.
class rate_limiter {
 public:
  static constexpr std::size_t max_eviction_scan = 32;

  // Throws std::invalid_argument when limiting is enabled and per_second is
  // infinite, burst is not a finite number >= 1, or max_keys == 0.
  rate_limiter(double per_second, double burst, std::size_t max_keys);

  // Spends one request from `key`'s bucket; false when it is empty.
  [[nodiscard]] bool allow(std::string_view key,
                           std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

  [[nodiscard]] bool enabled() const noexcept { return per_second_ > 0; }
  // Keys currently tracked (never more than max_keys).
  [[nodiscard]] std::size_t size() const;

 private:
  struct bucket {
    std::string key;
    double tokens;
    std::chrono::steady_clock::time_point updated;
  };
  using lru_list = std::list<bucket>;  // most recently used first

  void refill(bucket& b, std::chrono::steady_clock::time_point now) const noexcept;
  void make_room(std::chrono::steady_clock::time_point now);

  const double per_second_;
  const double burst_;
  const std::size_t max_keys_;

  mutable std::mutex mutex_;
  lru_list lru_;
  // Views point into lru_ nodes, which never move.
  std::unordered_map<std::string_view, lru_list::iterator> index_;
};

}  // namespace progress::bridge
