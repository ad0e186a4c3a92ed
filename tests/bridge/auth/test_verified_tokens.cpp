#include "verified_tokens.hpp"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace progress::bridge {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::system_clock;

const clock_type::time_point t0 = clock_type::time_point{} + 1'000'000h;

principal alice(clock_type::time_point expires_at = t0 + 1h) {
  return principal{"alice", false, expires_at};
}

std::string token_number(int n) {
  return "header.payload-" + std::to_string(n) + ".signature";
}

TEST(VerifiedTokens, AHeldTokenGivesItsPrincipalAndAnUnknownOneMisses) {
  verified_tokens tokens{30s};
  tokens.add("a.b.c", principal{"alice", true, t0 + 1h}, t0);
  const auto found = tokens.find("a.b.c", t0 + 1s);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->user_id, "alice");
  EXPECT_TRUE(found->admin);
  EXPECT_EQ(found->expires_at, t0 + 1h);
  EXPECT_FALSE(tokens.find("a.b.d", t0 + 1s));
  EXPECT_FALSE(tokens.find("a.b.", t0 + 1s)) << "a prefix is another token";
}

TEST(VerifiedTokens, MissesFromExpiryPlusLeewayOnAsTheVerifierRefuses) {
  verified_tokens tokens{30s};
  tokens.add("a.b.c", alice(t0 + 1h), t0);
  EXPECT_TRUE(tokens.find("a.b.c", t0 + 1h + 29s));
  EXPECT_FALSE(tokens.find("a.b.c", t0 + 1h + 30s));
  EXPECT_FALSE(tokens.find("a.b.c", t0 + 2h));
}

TEST(VerifiedTokens, MissesWhenTheClockWentBackBeforeTheTokenWasVerified) {
  verified_tokens tokens{0s};
  tokens.add("a.b.c", alice(), t0);
  EXPECT_TRUE(tokens.find("a.b.c", t0));
  EXPECT_FALSE(tokens.find("a.b.c", t0 - 1s)) << "its nbf or iat may lie after that time";
}

TEST(VerifiedTokens, HoldsAtMostItsLimitAndDropsTheOldestFirst) {
  verified_tokens tokens{0s, verified_tokens_limits{.tokens = 64, .token_bytes = 2048}};
  for (int n = 0; n < 1000; ++n) tokens.add(token_number(n), alice(), t0);
  EXPECT_LE(tokens.size(), 64U);
  EXPECT_GE(tokens.size(), 32U) << "every shard fills before it drops";
  EXPECT_TRUE(tokens.find(token_number(999), t0)) << "the newest token stays";
  EXPECT_FALSE(tokens.find(token_number(0), t0)) << "the oldest went";
  int held = 0;
  for (int n = 0; n < 1000; ++n) held += tokens.find(token_number(n), t0) ? 1 : 0;
  EXPECT_EQ(static_cast<std::size_t>(held), tokens.size());
}

TEST(VerifiedTokens, AddingAHeldTokenAgainUpdatesItInPlace) {
  verified_tokens tokens{0s, verified_tokens_limits{.tokens = 8, .token_bytes = 2048}};
  for (int round = 0; round < 100; ++round)
    tokens.add("a.b.c", alice(t0 + std::chrono::hours{round + 1}), t0);
  EXPECT_EQ(tokens.size(), 1U);
  EXPECT_EQ(tokens.find("a.b.c", t0)->expires_at, t0 + 100h);
}

TEST(VerifiedTokens, NeverHoldsATokenLongerThanItsLimit) {
  verified_tokens tokens{0s, verified_tokens_limits{.tokens = 64, .token_bytes = 100}};
  const std::string long_token(101, 'x');
  tokens.add(long_token, alice(), t0);
  EXPECT_EQ(tokens.size(), 0U);
  EXPECT_FALSE(tokens.find(long_token, t0));
  tokens.add(std::string(100, 'x'), alice(), t0);
  EXPECT_TRUE(tokens.find(std::string(100, 'x'), t0));
}

TEST(VerifiedTokens, ManyThreadsAddAndFindAtOnce) {
  verified_tokens tokens{0s, verified_tokens_limits{.tokens = 256, .token_bytes = 2048}};
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < 5000; ++n) {
        const auto token = token_number((n * 7 + t) % 600);
        tokens.add(token, principal{token, false, t0 + 1h}, t0);
        if (const auto found = tokens.find(token_number((n * 13 + t) % 600), t0);
            found && found->user_id != token_number((n * 13 + t) % 600))
          ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0) << "a token gave another token's principal";
  EXPECT_LE(tokens.size(), 256U);
}

}  // namespace
}  // namespace progress::bridge
