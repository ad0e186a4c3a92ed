#include "jwt_verifier.hpp"

#include "progress/protocol/topic.hpp"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <utility>

namespace progress::bridge {

namespace {

using json = nlohmann::json;
using sys_seconds = std::chrono::sys_seconds;

// Bound for the key we hand to OpenSSL and libjwt (an RSA-8192 PEM is ~1.5 KiB).
constexpr std::size_t max_key_bytes = 16 * 1024;
constexpr int min_rsa_bits = 2048;
constexpr auto max_leeway = std::chrono::hours{24};
// NumericDate claims are clamped to [0, 2^32) seconds (year 2106) so that
// time_point arithmetic can never overflow.
constexpr std::int64_t max_numeric_date = std::int64_t{1} << 32;

auth_result fail(auth_failure f, std::string message) {
  return auth_result{std::nullopt, f, std::move(message)};
}

// Strict RFC 7515 base64url: URL-safe alphabet, no padding, no whitespace.
int base64url_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::optional<std::string> base64url_decode(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;  // no valid encoding has this length
  std::string out;
  out.reserve(in.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = base64url_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFFu));
    }
  }
  return out;
}

std::optional<json> decode_json_object(std::string_view part) {
  auto text = base64url_decode(part);
  if (!text) return std::nullopt;
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    return lower(x) == lower(y);
  });
}

// A NumericDate (RFC 7519 §2): integer or fractional seconds since the epoch.
// Nothing when `v` is not a finite number.
std::optional<sys_seconds> numeric_date(const json& v) {
  std::int64_t s = 0;
  if (v.is_number_unsigned()) {
    s = static_cast<std::int64_t>(
        std::min(v.get<std::uint64_t>(), static_cast<std::uint64_t>(max_numeric_date)));
  } else if (v.is_number_integer()) {
    s = v.get<std::int64_t>();
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d)) return std::nullopt;
    s = static_cast<std::int64_t>(std::clamp(std::floor(d), 0.0, static_cast<double>(max_numeric_date)));
  } else {
    return std::nullopt;
  }
  return sys_seconds{std::chrono::seconds{std::clamp<std::int64_t>(s, 0, max_numeric_date)}};
}

struct jwt_deleter {
  void operator()(jwt_t* j) const noexcept { jwt_free(j); }
};
struct bio_deleter {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct pkey_deleter {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};

// "RS256" or "ES256" for an acceptable public key; throws otherwise.
std::string_view algorithm_of_public_key(const std::string& pem) {
  if (pem.size() > max_key_bytes) throw std::invalid_argument("public key PEM is too large");
  std::unique_ptr<BIO, bio_deleter> bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  if (!bio) throw std::runtime_error("out of memory reading the public key");
  std::unique_ptr<EVP_PKEY, pkey_deleter> key{PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)};
  ERR_clear_error();  // leave no stale error on this thread's queue
  if (!key) throw std::invalid_argument("public key is not a PEM \"PUBLIC KEY\"");
  switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(key.get()) < min_rsa_bits)
        throw std::invalid_argument("RSA public key is shorter than 2048 bits");
      return "RS256";
    case EVP_PKEY_EC: {
      std::array<char, 64> group{};
      std::size_t len = 0;
      if (EVP_PKEY_get_group_name(key.get(), group.data(), group.size(), &len) == 1) {
        const std::string_view name{group.data(), len};
        if (name == "prime256v1" || name == "P-256") return "ES256";
      }
      ERR_clear_error();
      throw std::invalid_argument("EC public key is not on curve P-256");
    }
    default: throw std::invalid_argument("public key is neither RSA nor EC P-256");
  }
}

}  // namespace

std::string_view to_string(auth_failure f) noexcept {
  switch (f) {
    case auth_failure::missing_token: return "missing_token";
    case auth_failure::malformed: return "malformed";
    case auth_failure::unsupported_algorithm: return "unsupported_algorithm";
    case auth_failure::bad_signature: return "bad_signature";
    case auth_failure::expired: return "expired";
    case auth_failure::not_yet_valid: return "not_yet_valid";
    case auth_failure::missing_claim: return "missing_claim";
    case auth_failure::invalid_subject: return "invalid_subject";
  }
  return "unknown";
}

std::string_view error_code(auth_failure f) noexcept {
  switch (f) {
    case auth_failure::missing_token: return "token_missing";
    case auth_failure::malformed: return "token_malformed";
    case auth_failure::unsupported_algorithm: return "token_unsupported_algorithm";
    case auth_failure::bad_signature: return "token_bad_signature";
    case auth_failure::expired: return "token_expired";
    case auth_failure::not_yet_valid: return "token_not_yet_valid";
    case auth_failure::missing_claim: return "token_missing_claim";
    case auth_failure::invalid_subject: return "token_invalid_subject";
  }
  return "token_invalid";
}

jwt_verifier::jwt_verifier(jwt_verifier_options options) : leeway_{options.leeway} {
  const bool has_secret = !options.hs256_secret.empty();
  const bool has_pem = !options.public_key_pem.empty();
  if (has_secret == has_pem)
    throw std::invalid_argument("configure exactly one of an HS256 secret or a public key");
  if (leeway_ < std::chrono::seconds::zero() || leeway_ > max_leeway)
    throw std::invalid_argument("leeway must be between 0s and 24h");
  if (has_secret) {
    if (options.hs256_secret.size() < min_hs256_secret_bytes)
      throw std::invalid_argument("HS256 secret must be at least 32 bytes");
    if (options.hs256_secret.size() > max_key_bytes) throw std::invalid_argument("HS256 secret is too large");
    key_ = std::move(options.hs256_secret);
    algorithm_ = "HS256";
  } else {
    algorithm_ = algorithm_of_public_key(options.public_key_pem);
    key_ = std::move(options.public_key_pem);
  }
}

auth_result jwt_verifier::verify(std::string_view token, std::chrono::system_clock::time_point now) const {
  try {
    return verify_unguarded(token, now);
  } catch (...) {
    // Only allocation can throw here; refuse rather than let it reach a
    // handler. The message fits the small-string buffer: no allocation.
    return auth_result{std::nullopt, auth_failure::malformed, "internal error"};
  }
}

auth_result jwt_verifier::verify_unguarded(std::string_view token,
                                           std::chrono::system_clock::time_point now) const {
  if (token.empty()) return fail(auth_failure::missing_token, "no bearer token");
  if (token.size() > max_token_bytes) return fail(auth_failure::malformed, "token is too long");

  // Check the whole structure ourselves first, so that a libjwt failure below
  // almost always means a bad signature.
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return fail(auth_failure::malformed, "token is not header.payload.signature");
  const auto header_part = token.substr(0, dot1);
  const auto payload_part = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const auto signature_part = token.substr(dot2 + 1);

  const auto header = decode_json_object(header_part);
  if (!header) return fail(auth_failure::malformed, "header is not base64url JSON object");
  const auto payload = decode_json_object(payload_part);
  if (!payload) return fail(auth_failure::malformed, "payload is not base64url JSON object");
  if (!base64url_decode(signature_part)) return fail(auth_failure::malformed, "signature is not base64url");

  // libjwt 1.x verifies with whatever algorithm the header names, using our
  // key as that algorithm's key: an HS256 token "signed" with our public PEM
  // text would pass. So the header must name exactly our algorithm.
  const auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string()) return fail(auth_failure::malformed, "header has no alg");
  if (alg->get_ref<const std::string&>() != algorithm_)
    return fail(auth_failure::unsupported_algorithm, "only " + std::string(algorithm_) + " is accepted");
  if (const auto typ = header->find("typ");
      typ != header->end() && !(typ->is_string() && iequals(typ->get_ref<const std::string&>(), "JWT")))
    return fail(auth_failure::malformed, "header typ is not JWT");
  if (header->contains("crit"))
    return fail(auth_failure::malformed, "critical header extensions unsupported");

  if (signature_part.empty()) return fail(auth_failure::bad_signature, "token is not signed");
  jwt_t* raw = nullptr;
  const std::string token_z{token};  // libjwt wants a NUL-terminated string
  const int rc = jwt_decode(&raw, token_z.c_str(), reinterpret_cast<const unsigned char*>(key_.data()),
                            static_cast<int>(key_.size()));
  const std::unique_ptr<jwt_t, jwt_deleter> decoded{raw};
  ERR_clear_error();
  if (rc != 0 || !decoded) {
    // Jansson (under libjwt) refuses some JSON nlohmann accepts, e.g. integers
    // beyond int64. Without a key libjwt only parses, never verifies: use that
    // to tell such tokens from forged ones. Its result is never trusted.
    jwt_t* parsed_only = nullptr;
    const int parse_rc = jwt_decode(&parsed_only, token_z.c_str(), nullptr, 0);
    if (parsed_only != nullptr) jwt_free(parsed_only);
    if (parse_rc != 0) return fail(auth_failure::malformed, "token JSON is not accepted by the JWT parser");
    return fail(auth_failure::bad_signature, "signature does not verify");
  }
  // Belt and braces: what libjwt verified with must be what we allow.
  const char* verified_with = jwt_alg_str(jwt_get_alg(decoded.get()));
  if (verified_with == nullptr || verified_with != algorithm_)
    return fail(auth_failure::unsupported_algorithm, "only " + std::string(algorithm_) + " is accepted");

  // The payload bytes are now authenticated; read claims from our own parse.
  const auto sub = payload->find("sub");
  if (sub == payload->end()) return fail(auth_failure::missing_claim, "sub claim is required");
  const auto exp = payload->find("exp");
  if (exp == payload->end()) return fail(auth_failure::missing_claim, "exp claim is required");
  if (!sub->is_string()) return fail(auth_failure::invalid_subject, "sub is not a string");
  const auto& user_id = sub->get_ref<const std::string&>();
  if (!is_valid_id(user_id)) return fail(auth_failure::invalid_subject, "sub is not a valid user id");

  const auto expires_at = numeric_date(*exp);
  if (!expires_at) return fail(auth_failure::malformed, "exp is not a NumericDate");
  if (now >= *expires_at + leeway_) return fail(auth_failure::expired, "token has expired");
  for (const char* claim : {"nbf", "iat"}) {
    const auto it = payload->find(claim);
    if (it == payload->end()) continue;
    const auto at = numeric_date(*it);
    if (!at) return fail(auth_failure::malformed, std::string(claim) + " is not a NumericDate");
    if (*at > now + leeway_)
      return fail(auth_failure::not_yet_valid, std::string(claim) + " is in the future");
  }

  const auto role = payload->find("role");
  const bool admin =
      role != payload->end() && role->is_string() && role->get_ref<const std::string&>() == "admin";
  return auth_result{principal{user_id, admin, *expires_at}, auth_failure{}, {}};
}

}  // namespace progress::bridge
