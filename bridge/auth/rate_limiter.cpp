#include "rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>

namespace progress::bridge {

rate_limiter::rate_limiter(double per_second, double burst, std::size_t max_keys)
    : per_second_{per_second > 0 ? per_second : 0.0}, burst_{burst}, max_keys_{max_keys} {
  if (!enabled()) return;
  if (!std::isfinite(per_second)) throw std::invalid_argument("rate limit must be a finite rate");
  if (!(burst >= 1) || !std::isfinite(burst))
    throw std::invalid_argument("rate limit burst must be at least 1");
  if (max_keys == 0) throw std::invalid_argument("rate limiter needs room for at least one key");
  index_.reserve(std::min<std::size_t>(max_keys, 1024));
}

bool rate_limiter::allow(std::string_view key, std::chrono::steady_clock::time_point now) {
  if (!enabled()) return true;
  const std::lock_guard lock{mutex_};
  auto found = index_.find(key);
  if (found == index_.end()) {
    if (index_.size() >= max_keys_) make_room(now);
    lru_.push_front(bucket{std::string{key}, burst_, now});
    found = index_.emplace(lru_.front().key, lru_.begin()).first;
  } else {
    lru_.splice(lru_.begin(), lru_, found->second);  // iterators stay valid
  }
  bucket& b = *found->second;
  refill(b, now);
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

std::size_t rate_limiter::size() const {
  const std::lock_guard lock{mutex_};
  return index_.size();
}

void rate_limiter::refill(bucket& b, std::chrono::steady_clock::time_point now) const noexcept {
  if (now <= b.updated) return;  // an injected clock may step back: never refill negatively
  const std::chrono::duration<double> elapsed = now - b.updated;
  b.tokens = std::min(burst_, b.tokens + elapsed.count() * per_second_);
  b.updated = now;
}

void rate_limiter::make_room(std::chrono::steady_clock::time_point now) {
  const auto drop = [this](lru_list::iterator it) {
    index_.erase(it->key);
    return lru_.erase(it);
  };
  bool dropped = false;
  auto it = lru_.end();
  for (std::size_t scanned = 0; scanned < max_eviction_scan && it != lru_.begin(); ++scanned) {
    --it;
    refill(*it, now);
    if (it->tokens >= burst_) {
      it = drop(it);
      dropped = true;
    }
  }
  if (!dropped) drop(std::prev(lru_.end()));
}

}  // namespace progress::bridge
