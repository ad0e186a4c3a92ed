#include "access_policy.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "metrics.hpp"
#include "token_issuer.hpp"

namespace progress::bridge {
namespace {

using namespace std::chrono_literals;

const std::string secret = "0123456789abcdef0123456789abcdef";

class AccessPolicy : public ::testing::Test {
 protected:
  access_policy policy(access_limits limits = {.rate_limit = 0}) { return {verifier_, metrics_, limits}; }

  static principal user(std::string id, bool admin = false) {
    return principal{std::move(id), admin, std::chrono::system_clock::now() + 1h};
  }
  static std::string token(const std::string& user_id, bool admin = false) {
    return mint_token(secret, user_id, admin, 1h);
  }
  // The denial `result` holds (a copy: results are often temporaries).
  static access_denial denial(const auto& result) {
    const auto* denied = std::get_if<access_denial>(&result);
    EXPECT_NE(denied, nullptr) << "access was granted";
    return denied ? *denied : access_denial{};
  }

  jwt_verifier verifier_{jwt_verifier_options{secret, {}, 30s}};
  metrics metrics_;
};

TEST_F(AccessPolicy, AdmitsEachAddressWithinItsRate) {
  auto limited = policy({.rate_limit = 1, .rate_limit_burst = 2});
  EXPECT_FALSE(limited.admit("10.0.0.1"));
  EXPECT_FALSE(limited.admit("10.0.0.1"));
  const auto refused = limited.admit("10.0.0.1");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->why, access_denial::kind::rate_limited);
  EXPECT_EQ(refused->code, "rate_limited");
  EXPECT_EQ(refused->retry_after, 1s);
  EXPECT_FALSE(limited.admit("10.0.0.2")) << "another address has its own budget";
  EXPECT_NE(metrics_.scrape().find("progress_bridge_rate_limited_total 1"), std::string::npos);
}

TEST_F(AccessPolicy, AuthenticatesTheHeaderFirstThenTheQueryParameter) {
  const auto p = policy();
  const auto from_header = p.authenticate("Bearer " + token("alice"), token("bob"));
  ASSERT_TRUE(std::holds_alternative<principal>(from_header));
  EXPECT_EQ(std::get<principal>(from_header).user_id, "alice");
  const auto from_query = p.authenticate(std::nullopt, token("bob"));
  ASSERT_TRUE(std::holds_alternative<principal>(from_query));
  EXPECT_EQ(std::get<principal>(from_query).user_id, "bob");
  const auto any_case = p.authenticate("bEaReR   " + token("carol") + "  ", std::nullopt);
  ASSERT_TRUE(std::holds_alternative<principal>(any_case));
}

TEST_F(AccessPolicy, SaysWhyATokenIsRefused) {
  const auto p = policy();
  const auto missing = denial(p.authenticate(std::nullopt, std::nullopt));
  EXPECT_EQ(missing.why, access_denial::kind::unauthenticated);
  EXPECT_EQ(missing.code, "token_missing");
  EXPECT_FALSE(missing.token_sent);
  const auto basic = denial(p.authenticate("Basic YWxpY2U6eA==", token("alice")));
  EXPECT_EQ(basic.code, "token_malformed") << "a header that is not Bearer is not ignored";
  EXPECT_TRUE(basic.token_sent);
  const auto expired = mint_token(secret, "alice", false, 60s, std::chrono::system_clock::now() - 2h);
  EXPECT_EQ(denial(p.authenticate("Bearer " + expired, std::nullopt)).code, "token_expired");
  const auto forged = mint_token("another-secret-of-at-least-32-bytes!", "alice", false, 1h);
  EXPECT_EQ(denial(p.authenticate(std::nullopt, forged)).code, "token_bad_signature");
  const auto scrape = metrics_.scrape();
  EXPECT_NE(scrape.find("reason=\"missing_token\""), std::string::npos);
  EXPECT_NE(scrape.find("reason=\"expired\""), std::string::npos);
}

TEST_F(AccessPolicy, ATokenAcceptedBeforeGivesTheSameAnswerAgainAndItsForgeriesStillFail) {
  const auto p = policy();
  const auto good = token("alice", true);
  for (int round = 0; round < 3; ++round) {
    const auto again = p.authenticate("Bearer " + good, std::nullopt);
    ASSERT_TRUE(std::holds_alternative<principal>(again)) << "round " << round;
    EXPECT_EQ(std::get<principal>(again).user_id, "alice");
    EXPECT_TRUE(std::get<principal>(again).admin);
  }
  // The same header and claims under another signature, and the token cut short.
  auto forged = good;
  auto& in_signature = forged[forged.size() - 10];  // not the last character: its low bits are padding
  in_signature = in_signature == 'A' ? 'B' : 'A';
  EXPECT_EQ(denial(p.authenticate("Bearer " + forged, std::nullopt)).code, "token_bad_signature");
  EXPECT_EQ(denial(p.authenticate("Bearer " + good.substr(0, good.size() - 4), std::nullopt)).code,
            "token_bad_signature");
  const auto expired = mint_token(secret, "alice", false, 60s, std::chrono::system_clock::now() - 2h);
  EXPECT_EQ(denial(p.authenticate("Bearer " + expired, std::nullopt)).code, "token_expired");
  EXPECT_EQ(denial(p.authenticate("Bearer " + expired, std::nullopt)).code, "token_expired")
      << "a refused token is never held";
}

TEST_F(AccessPolicy, UsersReadOnlyTheirOwnJobs) {
  const auto p = policy();
  const auto own = p.authorize_user(user("alice"), "alice");
  ASSERT_TRUE(std::holds_alternative<read_grant>(own));
  EXPECT_EQ(std::get<read_grant>(own).user_id, "alice");
  const auto other = denial(p.authorize_user(user("alice"), "bob"));
  EXPECT_EQ(other.why, access_denial::kind::forbidden);
  EXPECT_EQ(other.code, "forbidden");
  EXPECT_EQ(denial(p.authorize_user(principal{}, "")).why, access_denial::kind::invalid_request);
  EXPECT_EQ(denial(p.authorize_user(principal{}, "alice")).why, access_denial::kind::forbidden)
      << "a principal without a user reads nothing";
}

TEST_F(AccessPolicy, IdsAreCheckedBeforeOwnership) {
  const auto p = policy();
  // The strings live as long as the loop (a c_str() of a temporary would not).
  for (const std::string& bad : std::vector<std::string>{"", "a/b", "a+b", "#", "*", std::string(129, 'a')}) {
    const auto refused = denial(p.authorize_user(user("alice", true), bad));
    EXPECT_EQ(refused.why, access_denial::kind::invalid_request) << bad;
    EXPECT_EQ(refused.code, "bad_request");
  }
}

TEST_F(AccessPolicy, AdminsReadEveryUserAndEveryone) {
  const auto p = policy();
  EXPECT_TRUE(std::holds_alternative<read_grant>(p.authorize_user(user("ops", true), "bob")));
  const auto everyone = p.authorize_everyone(user("ops", true));
  ASSERT_TRUE(std::holds_alternative<read_grant>(everyone));
  EXPECT_FALSE(std::get<read_grant>(everyone).user_id);
  EXPECT_EQ(denial(p.authorize_everyone(user("alice"))).why, access_denial::kind::forbidden);
}

TEST_F(AccessPolicy, AStreamScopeIsOneUserOrEveryone) {
  const auto p = policy();
  const auto all = p.authorize_scope(user("ops", true), access_policy::everyone);
  ASSERT_TRUE(std::holds_alternative<read_grant>(all));
  EXPECT_FALSE(std::get<read_grant>(all).user_id);
  EXPECT_EQ(denial(p.authorize_scope(user("alice"), "*")).why, access_denial::kind::forbidden);
  const auto one = p.authorize_scope(user("alice"), "alice");
  ASSERT_TRUE(std::holds_alternative<read_grant>(one));
  EXPECT_EQ(std::get<read_grant>(one).user_id, "alice");
  EXPECT_EQ(denial(p.authorize_scope(user("alice"), "bob")).why, access_denial::kind::forbidden);
}

}  // namespace
}  // namespace progress::bridge
