#include "jwt_verifier.hpp"

#include <gtest/gtest.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace progress::bridge;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

const std::string secret(32, 'k');
const auto now = std::chrono::sys_seconds{1'800'000'000s};
std::int64_t at(std::chrono::seconds offset) {
  return (now + offset).time_since_epoch().count();
}

std::string base64url(std::string_view in) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(acc >> bits) & 0x3Fu]);
    }
  }
  if (bits > 0) out.push_back(alphabet[(acc << (6 - bits)) & 0x3Fu]);
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

// A token built by hand, so tests control every byte of header and payload.
std::string hs256_token(const json& payload, std::string_view key = secret,
                        const json& header = {{"alg", "HS256"}, {"typ", "JWT"}}) {
  const std::string signing_input = base64url(header.dump()) + "." + base64url(payload.dump());
  return signing_input + "." + base64url(hmac_sha256(key, signing_input));
}

json claims(std::string sub = "alice") {
  return {{"sub", std::move(sub)}, {"exp", at(1h)}};
}

struct pkey_deleter {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

std::string to_pem(EVP_PKEY* key, bool private_part) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), &BIO_free};
  const int ok = private_part
                     ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                     : PEM_write_bio_PUBKEY(bio.get(), key);
  if (ok != 1) throw std::runtime_error("PEM write failed");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

struct key_pair {
  std::string private_pem;
  std::string public_pem;
};

key_pair make_keys(pkey_ptr key) {
  if (!key) throw std::runtime_error("key generation failed");
  return {to_pem(key.get(), true), to_pem(key.get(), false)};
}

// Generated once: RSA key generation is slow.
const key_pair& rsa_keys() {
  static const key_pair keys = make_keys(pkey_ptr{EVP_RSA_gen(2048)});
  return keys;
}
const key_pair& ec_keys() {
  static const key_pair keys = make_keys(pkey_ptr{EVP_EC_gen("P-256")});
  return keys;
}

// A token signed by libjwt itself with a private key.
std::string libjwt_token(jwt_alg_t alg, const std::string& private_pem, const json& payload) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) throw std::runtime_error("jwt_new failed");
  std::unique_ptr<jwt_t, decltype(&jwt_free)> token{raw, &jwt_free};
  if (jwt_set_alg(token.get(), alg, reinterpret_cast<const unsigned char*>(private_pem.data()),
                  static_cast<int>(private_pem.size())) != 0 ||
      jwt_add_grants_json(token.get(), payload.dump().c_str()) != 0)
    throw std::runtime_error("jwt setup failed");
  std::unique_ptr<char, decltype(&free)> out{jwt_encode_str(token.get()), &free};
  if (!out) throw std::runtime_error("jwt_encode_str failed");
  return out.get();
}

jwt_verifier hs_verifier(std::chrono::seconds leeway = 30s) {
  return jwt_verifier{{secret, {}, leeway}};
}
jwt_verifier pem_verifier(const std::string& public_pem) {
  return jwt_verifier{{{}, public_pem, 30s}};
}

void expect_failure(const auth_result& r, auth_failure f) {
  EXPECT_FALSE(r);
  EXPECT_FALSE(r.who.has_value());
  EXPECT_EQ(r.failure, f) << "got " << to_string(r.failure) << ": " << r.message;
  EXPECT_FALSE(r.message.empty());
}

}  // namespace

TEST(jwt_verifier, accepts_a_valid_hs256_token) {
  const auto r = hs_verifier().verify(hs256_token(claims()), now);
  ASSERT_TRUE(r) << r.message;
  EXPECT_EQ(r.who->user_id, "alice");
  EXPECT_FALSE(r.who->admin);
  EXPECT_EQ(r.who->expires_at, now + 1h);
}

TEST(jwt_verifier, role_admin_makes_an_admin_and_nothing_else_does) {
  auto payload = claims();
  payload["role"] = "admin";
  const auto admin = hs_verifier().verify(hs256_token(payload), now);
  ASSERT_TRUE(admin) << admin.message;
  EXPECT_TRUE(admin.who->admin);

  for (const json& role : {json("user"), json("Admin"), json(true), json::array({"admin"})}) {
    payload["role"] = role;
    const auto r = hs_verifier().verify(hs256_token(payload), now);
    ASSERT_TRUE(r) << r.message;
    EXPECT_FALSE(r.who->admin) << role.dump();
  }
}

TEST(jwt_verifier, refuses_an_expired_token) {
  auto payload = claims();
  payload["exp"] = at(-31s);
  expect_failure(hs_verifier().verify(hs256_token(payload), now), auth_failure::expired);
  payload["exp"] = at(-1h);
  expect_failure(hs_verifier().verify(hs256_token(payload), now), auth_failure::expired);
  payload["exp"] = -5;
  expect_failure(hs_verifier().verify(hs256_token(payload), now), auth_failure::expired);
}

TEST(jwt_verifier, leeway_tolerates_small_clock_skew) {
  auto payload = claims();
  payload["exp"] = at(-10s);
  EXPECT_TRUE(hs_verifier(30s).verify(hs256_token(payload), now));
  expect_failure(hs_verifier(0s).verify(hs256_token(payload), now), auth_failure::expired);
  payload["exp"] = at(0s);  // exp is the first instant the token is invalid
  expect_failure(hs_verifier(0s).verify(hs256_token(payload), now), auth_failure::expired);

  payload = claims();
  payload["nbf"] = at(10s);
  EXPECT_TRUE(hs_verifier(30s).verify(hs256_token(payload), now));
  expect_failure(hs_verifier(0s).verify(hs256_token(payload), now), auth_failure::not_yet_valid);
}

TEST(jwt_verifier, refuses_nbf_or_iat_in_the_future) {
  for (const char* claim : {"nbf", "iat"}) {
    auto payload = claims();
    payload[claim] = at(60s);
    expect_failure(hs_verifier().verify(hs256_token(payload), now), auth_failure::not_yet_valid);
    payload[claim] = at(-60s);
    EXPECT_TRUE(hs_verifier().verify(hs256_token(payload), now)) << claim;
  }
}

TEST(jwt_verifier, accepts_fractional_numeric_dates_and_refuses_other_types) {
  auto payload = claims();
  payload["exp"] = static_cast<double>(at(1h)) + 0.5;
  const auto r = hs_verifier().verify(hs256_token(payload), now);
  ASSERT_TRUE(r) << r.message;
  EXPECT_EQ(r.who->expires_at, now + 1h);

  for (const json& bad : {json("1900000000"), json(nullptr), json::object()}) {
    payload["exp"] = bad;
    expect_failure(hs_verifier().verify(hs256_token(payload), now), auth_failure::malformed);
  }
  payload = claims();
  payload["nbf"] = "soon";
  expect_failure(hs_verifier().verify(hs256_token(payload), now), auth_failure::malformed);
}

TEST(jwt_verifier, far_future_exp_is_clamped_not_overflowed) {
  auto payload = claims();
  payload["exp"] = 1e300;
  auto r = hs_verifier().verify(hs256_token(payload), now);
  ASSERT_TRUE(r) << r.message;
  EXPECT_GT(r.who->expires_at, now + 24h * 365 * 50);
  payload["exp"] = 9'000'000'000'000'000'000;
  r = hs_verifier().verify(hs256_token(payload), now);
  ASSERT_TRUE(r) << r.message;
  EXPECT_GT(r.who->expires_at, now + 24h * 365 * 50);
}

// libjwt's JSON parser refuses integers beyond int64: such a token is
// malformed, not forged.
TEST(jwt_verifier, an_integer_libjwt_cannot_parse_is_malformed) {
  auto payload = claims();
  payload["exp"] = std::numeric_limits<std::uint64_t>::max();
  expect_failure(hs_verifier().verify(hs256_token(payload), now), auth_failure::malformed);
}

TEST(jwt_verifier, exp_and_sub_are_required) {
  auto payload = claims();
  payload.erase("exp");
  expect_failure(hs_verifier().verify(hs256_token(payload), now), auth_failure::missing_claim);
  payload = claims();
  payload.erase("sub");
  expect_failure(hs_verifier().verify(hs256_token(payload), now), auth_failure::missing_claim);
}

TEST(jwt_verifier, refuses_a_subject_that_is_not_a_user_id) {
  for (const json& sub : {json("a/b"), json(""), json(std::string(200, 'a')), json("users/+/jobs/#"),
                          json("alice\nbob"), json(42), json(nullptr)}) {
    auto payload = claims();
    payload["sub"] = sub;
    expect_failure(hs_verifier().verify(hs256_token(payload), now), auth_failure::invalid_subject);
  }
  EXPECT_TRUE(hs_verifier().verify(hs256_token(claims(std::string(128, 'a'))), now));
}

TEST(jwt_verifier, refuses_a_tampered_payload) {
  const std::string good = hs256_token(claims("alice"));
  const std::string forged_payload = base64url(claims("bob").dump());
  const auto first = good.find('.');
  const auto second = good.find('.', first + 1);
  const std::string forged = good.substr(0, first + 1) + forged_payload + good.substr(second);
  expect_failure(hs_verifier().verify(forged, now), auth_failure::bad_signature);

  auto payload = claims();
  payload["role"] = "admin";
  const std::string admin = hs256_token(payload);
  const std::string plain = hs256_token(claims());
  // The admin payload under the plain token's signature.
  const std::string swapped = admin.substr(0, admin.rfind('.')) + plain.substr(plain.rfind('.'));
  expect_failure(hs_verifier().verify(swapped, now), auth_failure::bad_signature);
}

TEST(jwt_verifier, refuses_a_changed_or_missing_signature) {
  std::string token = hs256_token(claims());
  token.back() = token.back() == 'A' ? 'B' : 'A';
  expect_failure(hs_verifier().verify(token, now), auth_failure::bad_signature);
  const std::string unsigned_token = token.substr(0, token.rfind('.') + 1);
  expect_failure(hs_verifier().verify(unsigned_token, now), auth_failure::bad_signature);
}

TEST(jwt_verifier, refuses_a_token_signed_with_another_secret) {
  const auto token = hs256_token(claims(), std::string(32, 'x'));
  expect_failure(hs_verifier().verify(token, now), auth_failure::bad_signature);
}

TEST(jwt_verifier, refuses_alg_none) {
  for (const char* alg : {"none", "None", "NONE"}) {
    const std::string token =
        base64url(json{{"alg", alg}, {"typ", "JWT"}}.dump()) + "." + base64url(claims().dump()) + ".";
    expect_failure(hs_verifier().verify(token, now), auth_failure::unsupported_algorithm);
    expect_failure(pem_verifier(rsa_keys().public_pem).verify(token, now),
                   auth_failure::unsupported_algorithm);
    expect_failure(pem_verifier(ec_keys().public_pem).verify(token, now),
                   auth_failure::unsupported_algorithm);
  }
}

TEST(jwt_verifier, refuses_other_hmac_algorithms_and_a_missing_alg) {
  expect_failure(hs_verifier().verify(hs256_token(claims(), secret, {{"alg", "HS512"}}), now),
                 auth_failure::unsupported_algorithm);
  expect_failure(hs_verifier().verify(hs256_token(claims(), secret, {{"typ", "JWT"}}), now),
                 auth_failure::malformed);
  expect_failure(hs_verifier().verify(hs256_token(claims(), secret, {{"alg", 256}}), now),
                 auth_failure::malformed);
}

// libjwt 1.x verifies with the algorithm the token names, using our key as
// that algorithm's key. This documents why jwt_verifier checks alg itself.
TEST(jwt_verifier, libjwt_alone_accepts_an_algorithm_confusion_token) {
  const auto& pem = rsa_keys().public_pem;
  const std::string token = hs256_token(claims(), pem);
  jwt_t* raw = nullptr;
  const int rc = jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(pem.data()),
                            static_cast<int>(pem.size()));
  std::unique_ptr<jwt_t, decltype(&jwt_free)> decoded{raw, &jwt_free};
  EXPECT_EQ(rc, 0);
  ASSERT_NE(decoded, nullptr);
  EXPECT_EQ(jwt_get_alg(decoded.get()), JWT_ALG_HS256);
}

TEST(jwt_verifier, refuses_hs256_signed_with_the_public_key_text) {
  for (const key_pair* keys : {&rsa_keys(), &ec_keys()}) {
    const std::string token = hs256_token(claims(), keys->public_pem);
    expect_failure(pem_verifier(keys->public_pem).verify(token, now), auth_failure::unsupported_algorithm);
  }
}

TEST(jwt_verifier, accepts_rs256_with_the_configured_rsa_key) {
  const auto token = libjwt_token(JWT_ALG_RS256, rsa_keys().private_pem, claims("bob"));
  const auto verifier = pem_verifier(rsa_keys().public_pem);
  EXPECT_EQ(verifier.algorithm(), "RS256");
  const auto r = verifier.verify(token, now);
  ASSERT_TRUE(r) << r.message;
  EXPECT_EQ(r.who->user_id, "bob");
}

TEST(jwt_verifier, accepts_es256_with_the_configured_ec_key) {
  auto payload = claims("carol");
  payload["role"] = "admin";
  const auto token = libjwt_token(JWT_ALG_ES256, ec_keys().private_pem, payload);
  const auto verifier = pem_verifier(ec_keys().public_pem);
  EXPECT_EQ(verifier.algorithm(), "ES256");
  const auto r = verifier.verify(token, now);
  ASSERT_TRUE(r) << r.message;
  EXPECT_EQ(r.who->user_id, "carol");
  EXPECT_TRUE(r.who->admin);
}

TEST(jwt_verifier, refuses_a_token_from_another_key_pair) {
  const auto other_ec = make_keys(pkey_ptr{EVP_EC_gen("P-256")});
  const auto token = libjwt_token(JWT_ALG_ES256, other_ec.private_pem, claims());
  expect_failure(pem_verifier(ec_keys().public_pem).verify(token, now), auth_failure::bad_signature);
}

TEST(jwt_verifier, accepts_only_the_algorithm_of_the_configured_key) {
  const auto rs = libjwt_token(JWT_ALG_RS256, rsa_keys().private_pem, claims());
  const auto es = libjwt_token(JWT_ALG_ES256, ec_keys().private_pem, claims());
  const auto hs = hs256_token(claims());
  expect_failure(hs_verifier().verify(rs, now), auth_failure::unsupported_algorithm);
  expect_failure(hs_verifier().verify(es, now), auth_failure::unsupported_algorithm);
  expect_failure(pem_verifier(rsa_keys().public_pem).verify(es, now), auth_failure::unsupported_algorithm);
  expect_failure(pem_verifier(rsa_keys().public_pem).verify(hs, now), auth_failure::unsupported_algorithm);
  expect_failure(pem_verifier(ec_keys().public_pem).verify(rs, now), auth_failure::unsupported_algorithm);
  expect_failure(pem_verifier(ec_keys().public_pem).verify(hs, now), auth_failure::unsupported_algorithm);
}

TEST(jwt_verifier, an_empty_token_is_missing) {
  expect_failure(hs_verifier().verify("", now), auth_failure::missing_token);
}

TEST(jwt_verifier, refuses_malformed_tokens) {
  const std::string header = base64url(R"({"alg":"HS256","typ":"JWT"})");
  const std::string payload = base64url(claims().dump());
  const std::string good = hs256_token(claims());
  const std::string signature = good.substr(good.rfind('.') + 1);
  const std::vector<std::string> bad = {
      "abc",
      "a.b",
      "..",
      good + ".x",
      header + "." + payload,
      "@@@." + payload + "." + signature,
      header + "." + payload + "=." + signature,
      header + " ." + payload + "." + signature,
      header + "." + payload + "." + signature + "*",
      header + "." + payload + "." + signature + "AA",  // 45 chars: 4n+1 is never base64url
      base64url("not json") + "." + payload + "." + signature,
      header + "." + base64url("not json") + "." + signature,
      header + "." + base64url("[1,2]") + "." + signature,
      base64url("\"HS256\"") + "." + payload + "." + signature,
      std::string("\0\0\0", 3),
      "Bearer " + good,
      good + std::string(max_token_bytes, 'A'),
  };
  for (const auto& token : bad) {
    SCOPED_TRACE(token.substr(0, 80));
    auth_result r;
    EXPECT_NO_THROW(r = hs_verifier().verify(token, now));
    expect_failure(r, auth_failure::malformed);
  }
}

TEST(jwt_verifier, refuses_a_foreign_typ_and_critical_headers) {
  expect_failure(
      hs_verifier().verify(hs256_token(claims(), secret, {{"alg", "HS256"}, {"typ", "at+jwt"}}), now),
      auth_failure::malformed);
  expect_failure(
      hs_verifier().verify(hs256_token(claims(), secret, {{"alg", "HS256"}, {"crit", {"exp"}}}), now),
      auth_failure::malformed);
  EXPECT_TRUE(hs_verifier().verify(hs256_token(claims(), secret, {{"alg", "HS256"}, {"typ", "jwt"}}), now));
  EXPECT_TRUE(hs_verifier().verify(hs256_token(claims(), secret, {{"alg", "HS256"}}), now));
}

TEST(jwt_verifier, constructor_refuses_bad_key_configurations) {
  EXPECT_THROW(jwt_verifier({}), std::invalid_argument);
  EXPECT_THROW(jwt_verifier({std::string(31, 'k'), {}, 30s}), std::invalid_argument);
  EXPECT_THROW(jwt_verifier({secret, rsa_keys().public_pem, 30s}), std::invalid_argument);
  EXPECT_THROW(jwt_verifier({{}, "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n", 30s}),
               std::invalid_argument);
  EXPECT_THROW(jwt_verifier({{}, "garbage", 30s}), std::invalid_argument);
  // A private key is not a public key configuration.
  EXPECT_THROW(jwt_verifier({{}, rsa_keys().private_pem, 30s}), std::invalid_argument);
  EXPECT_THROW(jwt_verifier({{}, make_keys(pkey_ptr{EVP_RSA_gen(1024)}).public_pem, 30s}),
               std::invalid_argument);
  EXPECT_THROW(jwt_verifier({{}, make_keys(pkey_ptr{EVP_EC_gen("P-384")}).public_pem, 30s}),
               std::invalid_argument);
  EXPECT_THROW(jwt_verifier({secret, {}, -1s}), std::invalid_argument);
  EXPECT_NO_THROW(jwt_verifier({secret, {}, 0s}));
}

TEST(jwt_verifier, failure_names_are_snake_case_labels) {
  EXPECT_EQ(to_string(auth_failure::missing_token), "missing_token");
  EXPECT_EQ(to_string(auth_failure::malformed), "malformed");
  EXPECT_EQ(to_string(auth_failure::unsupported_algorithm), "unsupported_algorithm");
  EXPECT_EQ(to_string(auth_failure::bad_signature), "bad_signature");
  EXPECT_EQ(to_string(auth_failure::expired), "expired");
  EXPECT_EQ(to_string(auth_failure::not_yet_valid), "not_yet_valid");
  EXPECT_EQ(to_string(auth_failure::missing_claim), "missing_claim");
  EXPECT_EQ(to_string(auth_failure::invalid_subject), "invalid_subject");
}

TEST(jwt_verifier, verifies_concurrently) {
  const auto verifier = pem_verifier(ec_keys().public_pem);
  const auto good = libjwt_token(JWT_ALG_ES256, ec_keys().private_pem, claims());
  const auto forged = hs256_token(claims(), ec_keys().public_pem);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (!verifier.verify(good, now)) ++wrong;
        if (verifier.verify(forged, now)) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}
