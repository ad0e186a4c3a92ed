#include "token_issuer.hpp"

#include "jwt_verifier.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>

using namespace progress::bridge;
using namespace std::chrono_literals;

namespace {

const std::string secret = "0123456789abcdef0123456789abcdef";
// A fractional second, to check exp is counted from whole seconds.
const auto now = std::chrono::system_clock::time_point{1'800'000'000s + 250ms};

}  // namespace

TEST(token_issuer, minted_token_verifies_as_the_user) {
  const auto token = mint_token(secret, "alice", false, 1h, now);
  const jwt_verifier verifier{{secret, {}, 0s}};
  const auto r = verifier.verify(token, now);
  ASSERT_TRUE(r) << r.message;
  EXPECT_EQ(r.who->user_id, "alice");
  EXPECT_FALSE(r.who->admin);
  EXPECT_EQ(r.who->expires_at, std::chrono::floor<std::chrono::seconds>(now) + 1h);
}

TEST(token_issuer, admin_flag_sets_the_admin_role) {
  const auto r = jwt_verifier{{secret, {}, 0s}}.verify(mint_token(secret, "ops", true, 15min, now), now);
  ASSERT_TRUE(r) << r.message;
  EXPECT_TRUE(r.who->admin);
}

TEST(token_issuer, minted_token_expires_after_its_ttl) {
  const auto token = mint_token(secret, "alice", false, 90s, now);
  const jwt_verifier verifier{{secret, {}, 0s}};
  EXPECT_TRUE(verifier.verify(token, now + 89s));
  EXPECT_EQ(verifier.verify(token, now + 90s).failure, auth_failure::expired);
}

TEST(token_issuer, minted_token_fails_with_another_secret) {
  const auto token = mint_token(secret, "alice", false, 1h, now);
  const jwt_verifier verifier{{std::string(32, 'z'), {}, 0s}};
  EXPECT_EQ(verifier.verify(token, now).failure, auth_failure::bad_signature);
}

TEST(token_issuer, refuses_bad_input) {
  for (const std::string& user : {std::string("a/b"), std::string(), std::string(200, 'a'),
                                  std::string("users/+"), std::string("al ice")}) {
    EXPECT_THROW((void)mint_token(secret, user, false, 1h, now), std::invalid_argument) << user;
  }
  EXPECT_THROW((void)mint_token("short", "alice", false, 1h, now), std::invalid_argument);
  EXPECT_THROW((void)mint_token(secret, "alice", false, 0s, now), std::invalid_argument);
  EXPECT_THROW((void)mint_token(secret, "alice", false, -1s, now), std::invalid_argument);
  EXPECT_THROW((void)mint_token(secret, "alice", false, max_token_ttl + 1s, now), std::invalid_argument);
  EXPECT_NO_THROW((void)mint_token(secret, "alice", false, max_token_ttl, now));
}

TEST(parse_duration, accepts_seconds_minutes_hours_days_and_bare_seconds) {
  EXPECT_EQ(parse_duration("90s"), 90s);
  EXPECT_EQ(parse_duration("15m"), 15min);
  EXPECT_EQ(parse_duration("1h"), 1h);
  EXPECT_EQ(parse_duration("7d"), std::chrono::seconds{7 * 86400});
  EXPECT_EQ(parse_duration("3600"), 3600s);
  EXPECT_EQ(parse_duration("0"), 0s);
}

TEST(parse_duration, refuses_anything_else) {
  for (const char* bad : {"", "s", "h", "-5s", "+5s", " 5s", "5s ", "5 s", "1.5h", "5x", "5ms", "1h30m",
                          "0x10", "99999999999999999999", "9223372036854775807d"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}
