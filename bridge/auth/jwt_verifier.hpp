#pragma once
// Verifies the bearer tokens of REST / WebSocket / SSE clients (docs/auth.md).

#include "principal.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace progress::bridge {

// Why a token was refused. to_string() gives the metric label.
enum class auth_failure {
  missing_token,          // no token at all
  malformed,              // not header.payload.signature, bad base64url/JSON, too long, ill-typed claim
  unsupported_algorithm,  // header "alg" is not the one the configured key allows ("none" included)
  bad_signature,          // signature does not verify with the configured key
  expired,                // exp is past (beyond leeway)
  not_yet_valid,          // nbf or iat is in the future (beyond leeway)
  missing_claim,          // no sub or no exp
  invalid_subject,        // sub is not a valid user id (progress::is_valid_id)
};

// snake_case name of `f`, e.g. "bad_signature": the metric label.
[[nodiscard]] std::string_view to_string(auth_failure f) noexcept;

// The error code a 401 answer carries for `f`, e.g. "token_expired" (docs/api.md),
// so a client can tell a refused token from a missing one and stop retrying.
[[nodiscard]] std::string_view error_code(auth_failure f) noexcept;

// Either a principal, or the failure and a human-readable message (safe to
// log: it never echoes the token).
struct auth_result {
  std::optional<principal> who;
  auth_failure failure{};
  std::string message;

  explicit operator bool() const noexcept { return who.has_value(); }
};

// Configure exactly one key: an HS256 shared secret, or the PEM public key
// of an RS256 (RSA) / ES256 (EC P-256) issuer.
struct jwt_verifier_options {
  std::string hs256_secret;
  std::string public_key_pem;
  // Tolerated clock skew for exp, nbf and iat.
  std::chrono::seconds leeway{30};
};

// Tokens longer than this are refused as malformed before any parsing.
inline constexpr std::size_t max_token_bytes = 8 * 1024;
// Shortest accepted HS256 secret: 256 bits, the size of the HMAC output.
inline constexpr std::size_t min_hs256_secret_bytes = 32;

// Verifies compact JWS tokens against one configured key. Only the algorithm
// that key implies is accepted, whatever the token's header says. Immutable
// after construction, so verify() may run on many threads at once.
class jwt_verifier {
 public:
  // Throws std::invalid_argument when no key or both keys are given, when the
  // secret is shorter than min_hs256_secret_bytes, or when the PEM is not an
  // RSA (>= 2048 bits) or EC P-256 public key.
  explicit jwt_verifier(jwt_verifier_options options);

  // Never throws; a failure is reported in the result.
  [[nodiscard]] auth_result verify(std::string_view token, std::chrono::system_clock::time_point now =
                                                               std::chrono::system_clock::now()) const;

  // "HS256", "RS256" or "ES256": the only algorithm verify() accepts.
  [[nodiscard]] std::string_view algorithm() const noexcept { return algorithm_; }
  // Tolerated clock skew for exp, nbf and iat.
  [[nodiscard]] std::chrono::seconds leeway() const noexcept { return leeway_; }

 private:
  [[nodiscard]] auth_result verify_unguarded(std::string_view token,
                                             std::chrono::system_clock::time_point now) const;

  std::string key_;  // the HS256 secret or the PEM text, as libjwt wants it
  std::string_view algorithm_;
  std::chrono::seconds leeway_;
};

}  // namespace progress::bridge
