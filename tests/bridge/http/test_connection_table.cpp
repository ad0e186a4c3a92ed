#include "connection_table.hpp"

#include <utility>

#include <gtest/gtest.h>

namespace progress::bridge {
namespace {

std::shared_ptr<connection_table> table(std::size_t max_connections, std::size_t max_per_address) {
  return std::make_shared<connection_table>(
      connection_limits{.max_connections = max_connections, .max_per_address = max_per_address});
}

TEST(HttpConnectionTable, CapsTheTotal) {
  auto t = table(2, 10);
  connection_refusal why{};
  auto a = t->admit("10.0.0.1", why);
  auto b = t->admit("10.0.0.2", why);
  EXPECT_TRUE(a && b);
  const auto c = t->admit("10.0.0.3", why);
  EXPECT_FALSE(c);
  EXPECT_EQ(why, connection_refusal::max_connections);
  EXPECT_EQ(t->open(), 2u);
  a = {};  // released
  EXPECT_EQ(t->open(), 1u);
  EXPECT_TRUE(t->admit("10.0.0.3", why));
}

TEST(HttpConnectionTable, CapsEachAddressAndCountsKeylessOnlyInTheTotal) {
  auto t = table(100, 2);
  connection_refusal why{};
  auto a = t->admit("10.0.0.1", why);
  auto b = t->admit("10.0.0.1", why);
  EXPECT_FALSE(t->admit("10.0.0.1", why));
  EXPECT_EQ(why, connection_refusal::per_address);
  EXPECT_TRUE(t->admit("10.0.0.2", why));
  auto proxied_1 = t->admit("", why);
  auto proxied_2 = t->admit("", why);
  auto proxied_3 = t->admit("", why);
  EXPECT_TRUE(proxied_1 && proxied_2 && proxied_3) << "a trusted proxy is counted in the total only";
  EXPECT_EQ(t->open(), 5u);
}

TEST(HttpConnectionTable, ASlotMovesWithItsOwnerAndRekeysWithinTheCap) {
  auto t = table(100, 1);
  connection_refusal why{};
  auto held = t->admit("198.51.100.7", why);
  auto proxied = t->admit("", why);
  EXPECT_FALSE(proxied.rekey("198.51.100.7")) << "that address is at its cap";
  EXPECT_EQ(proxied.key(), "");
  EXPECT_TRUE(proxied.rekey("198.51.100.8"));
  EXPECT_EQ(proxied.key(), "198.51.100.8");
  EXPECT_FALSE(t->admit("198.51.100.8", why));

  connection_slot moved = std::move(proxied);
  EXPECT_FALSE(proxied);  // NOLINT(bugprone-use-after-move): the moved-from slot is empty by contract
  EXPECT_EQ(t->open(), 2u);
  moved = {};
  EXPECT_EQ(t->open(), 1u);
  EXPECT_TRUE(t->admit("198.51.100.8", why)) << "its place was released";
}

}  // namespace
}  // namespace progress::bridge
