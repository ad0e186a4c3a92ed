#include "verified_tokens.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

namespace progress::bridge {

verified_tokens::verified_tokens(std::chrono::seconds leeway, verified_tokens_limits limits)
    : leeway_{leeway},
      token_bytes_{limits.token_bytes},
      per_shard_{std::max<std::size_t>(1, limits.tokens / shard_count)} {
  for (auto& shard : shards_) shard.order.reserve(per_shard_);
}

std::size_t verified_tokens::digest_hash::operator()(const token_digest& digest) const noexcept {
  std::size_t hash = 0;
  std::memcpy(&hash, digest.data(), sizeof hash);
  return hash;
}

std::optional<verified_tokens::token_digest> verified_tokens::digest_of(std::string_view token) {
  token_digest digest{};
  unsigned int size = 0;
  if (EVP_Digest(token.data(), token.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != digest.size())
    return std::nullopt;
  return digest;
}

verified_tokens::token_shard& verified_tokens::shard_of(const token_digest& digest) const {
  // Not the bytes the map's hash uses, so a shard's buckets stay evenly filled.
  return shards_[digest.back() % shard_count];
}

std::optional<principal> verified_tokens::find(std::string_view token,
                                               std::chrono::system_clock::time_point now) const {
  if (token.size() > token_bytes_) return std::nullopt;
  const auto digest = digest_of(token);
  if (!digest) return std::nullopt;
  auto& shard = shard_of(*digest);
  std::lock_guard lock{shard.mutex};
  const auto it = shard.by_token.find(*digest);
  if (it == shard.by_token.end()) return std::nullopt;
  const auto& [who, verified_at] = it->second;
  // As jwt_verifier: expired from exp + leeway on. Before verified_at, nbf and iat are unknown.
  if (now >= who.expires_at + leeway_ || now < verified_at) return std::nullopt;
  return who;
}

void verified_tokens::add(std::string_view token, const principal& who,
                          std::chrono::system_clock::time_point now) {
  if (token.size() > token_bytes_) return;
  const auto found = digest_of(token);
  if (!found) return;
  const auto& digest = *found;
  auto& shard = shard_of(digest);
  std::lock_guard lock{shard.mutex};
  if (const auto it = shard.by_token.find(digest); it != shard.by_token.end()) {
    it->second = entry{who, now};
    return;
  }
  if (shard.order.size() < per_shard_) {
    shard.order.push_back(digest);
    shard.by_token.emplace(digest, entry{who, now});
    return;
  }
  // Full: the oldest token makes room.
  auto& slot = shard.order[shard.next];
  shard.by_token.erase(slot);
  slot = digest;
  shard.by_token.emplace(digest, entry{who, now});
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
