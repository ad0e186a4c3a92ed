#pragma once
// The tokens jwt_verifier accepted lately, so a client that sends the same token
// with every request (a REST poller, a reconnecting stream) pays for its signature once.

#include <array>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "principal.hpp"

namespace progress::bridge {

struct verified_tokens_limits {
  // Tokens held, in all shards; when a shard is full, its oldest token goes.
  std::size_t tokens = 4096;
  // A longer token is verified every time and never held (the verifier takes up to 8 KiB).
  std::size_t token_bytes = 2048;
};

// Only accepted tokens are held, so nobody can fill it without the signing key. A hit is
// checked against the clock as jwt_verifier checks it: `expires_at` plus the leeway, and
// a clock that went back before the token was verified misses (nbf and iat held then).
// Thread-safe: the tokens are spread over shards, each under its own mutex.
class verified_tokens {
 public:
  verified_tokens(std::chrono::seconds leeway, verified_tokens_limits limits = {});

  // The principal of `token` when it was accepted before and is still current.
  [[nodiscard]] std::optional<principal> find(std::string_view token,
                                              std::chrono::system_clock::time_point now) const;
  // Holds `token`, which jwt_verifier accepted at `now` for `who`.
  void add(std::string_view token, const principal& who, std::chrono::system_clock::time_point now);

  [[nodiscard]] std::size_t size() const;

 private:
  struct entry {
    principal who;
    std::chrono::system_clock::time_point verified_at;
  };
  // The map's keys view the strings of `order`, a ring of the shard's tokens, oldest at `next`.
  struct token_shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string_view, entry> by_token;
    std::vector<std::string> order;
    std::size_t next = 0;
  };
  static constexpr std::size_t shard_count = 8;

  [[nodiscard]] token_shard& shard_of(std::string_view token) const;

  std::chrono::seconds leeway_;
  std::size_t token_bytes_;
  std::size_t per_shard_;
  mutable std::array<token_shard, shard_count> shards_;
};

}  // namespace progress::bridge
