#include "token_issuer.hpp"

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include <jwt.h>

#include "jwt_verifier.hpp"
#include "parse_integer.hpp"
#include "progress/protocol/topic.hpp"

namespace progress::bridge {

namespace {

struct jwt_deleter {
  void operator()(jwt_t* j) const noexcept { jwt_free(j); }
};
struct c_string_deleter {
  void operator()(char* s) const noexcept { std::free(s); }  // libjwt allocates with malloc
};

}  // namespace

std::string mint_token(std::string_view hs256_secret, std::string_view user_id, bool admin,
                       std::chrono::seconds ttl, std::chrono::system_clock::time_point now) {
  if (!is_valid_id(user_id)) throw std::invalid_argument("user id must match " + std::string(id_rule));
  if (hs256_secret.size() < min_hs256_secret_bytes)
    throw std::invalid_argument("HS256 secret must be at least 32 bytes");
  if (ttl <= std::chrono::seconds::zero() || ttl > max_token_ttl)
    throw std::invalid_argument("token lifetime must be positive and at most 365 days");

  const auto iat = std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
  const auto exp = iat + ttl.count();
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) throw std::runtime_error("cannot allocate a JWT");
  const std::unique_ptr<jwt_t, jwt_deleter> token{raw};
  const std::string user{user_id};
  int rc =
      jwt_set_alg(token.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(hs256_secret.data()),
                  static_cast<int>(hs256_secret.size()));
  if (rc == 0) rc = jwt_add_grant(token.get(), "sub", user.c_str());
  if (rc == 0) rc = jwt_add_grant_int(token.get(), "iat", static_cast<long>(iat));
  if (rc == 0) rc = jwt_add_grant_int(token.get(), "exp", static_cast<long>(exp));
  if (rc == 0 && admin) rc = jwt_add_grant(token.get(), "role", "admin");
  if (rc != 0) throw std::runtime_error("cannot build the JWT");
  const std::unique_ptr<char, c_string_deleter> encoded{jwt_encode_str(token.get())};
  if (!encoded) throw std::runtime_error("cannot sign the JWT");
  return std::string{encoded.get()};
}

std::optional<std::chrono::seconds> parse_duration(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  std::int64_t unit = 1;
  if (const char suffix = text.back(); suffix < '0' || suffix > '9') {
    switch (suffix) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default: return std::nullopt;
    }
    text.remove_suffix(1);
  }
  const auto count = parse_integer<std::int64_t>(text, 0, std::numeric_limits<std::int64_t>::max() / unit);
  if (!count) return std::nullopt;
  return std::chrono::seconds{*count * unit};
}

}  // namespace progress::bridge
