#include "verified_tokens.hpp"

#include <algorithm>
#include <functional>

namespace progress::bridge {

verified_tokens::verified_tokens(std::chrono::seconds leeway, verified_tokens_limits limits)
    : leeway_{leeway},
      token_bytes_{limits.token_bytes},
      per_shard_{std::max<std::size_t>(1, limits.tokens / shard_count)} {
  // The map's keys view these strings: they must never move.
  for (auto& shard : shards_) shard.order.reserve(per_shard_);
}

verified_tokens::token_shard& verified_tokens::shard_of(std::string_view token) const {
  return shards_[std::hash<std::string_view>{}(token) % shard_count];
}

std::optional<principal> verified_tokens::find(std::string_view token,
                                               std::chrono::system_clock::time_point now) const {
  if (token.size() > token_bytes_) return std::nullopt;
  auto& shard = shard_of(token);
  std::lock_guard lock{shard.mutex};
  const auto it = shard.by_token.find(token);
  if (it == shard.by_token.end()) return std::nullopt;
  const auto& [who, verified_at] = it->second;
  // As jwt_verifier: expired from exp + leeway on. Before verified_at, nbf and iat are unknown.
  if (now >= who.expires_at + leeway_ || now < verified_at) return std::nullopt;
  return who;
}

void verified_tokens::add(std::string_view token, const principal& who,
                          std::chrono::system_clock::time_point now) {
  if (token.size() > token_bytes_) return;
  auto& shard = shard_of(token);
  std::lock_guard lock{shard.mutex};
  if (const auto it = shard.by_token.find(token); it != shard.by_token.end()) {
    it->second = entry{who, now};
    return;
  }
  if (shard.order.size() < per_shard_) {
    shard.order.emplace_back(token);
    shard.by_token.emplace(shard.order.back(), entry{who, now});
    return;
  }
  // Full: the oldest token makes room.
  auto& slot = shard.order[shard.next];
  shard.by_token.erase(slot);
  slot.assign(token);
  shard.by_token.emplace(slot, entry{who, now});
  shard.next = (shard.next + 1) % per_shard_;
}

std::size_t verified_tokens::size() const {
  std::size_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock{shard.mutex};
    total += shard.by_token.size();
  }
  return total;
}

}  // namespace progress::bridge
