#pragma once
// The tokens jwt_verifier accepted lately, so a client that sends the same token
// with every request (a REST poller, a reconnecting stream) pays for its signature once.
// A token is held as its SHA-256 digest: a few hundred bytes of token become 32.

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
  // A longer token is verified every time and never held (the verifier takes up to 8 KiB),
  // so that hashing it stays cheap.
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
  using token_digest = std::array<unsigned char, 32>;  // SHA-256
  struct digest_hash {
    // A digest's bytes are uniform already: its first word is a hash.
    std::size_t operator()(const token_digest& digest) const noexcept;
  };
  struct entry {
    principal who;
    std::chrono::system_clock::time_point verified_at;
  };
  // `order` is a ring of the shard's tokens, oldest at `next`.
  struct token_shard {
    mutable std::mutex mutex;
    std::unordered_map<token_digest, entry, digest_hash> by_token;
    std::vector<token_digest> order;
    std::size_t next = 0;
  };
  static constexpr std::size_t shard_count = 8;

  // Nothing when OpenSSL fails (then the token is verified every time).
  [[nodiscard]] static std::optional<token_digest> digest_of(std::string_view token);
  [[nodiscard]] token_shard& shard_of(const token_digest& digest) const;

  std::chrono::seconds leeway_;
  std::size_t token_bytes_;
  std::size_t per_shard_;
  mutable std::array<token_shard, shard_count> shards_;
};

}  // namespace progress::bridge
