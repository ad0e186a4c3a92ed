#include "store_cursor.hpp"

#include <gtest/gtest.h>

namespace progress::bridge {
namespace {

TEST(StoreCursor, RoundTrips) {
  const store_cursor cursor{42, 7};
  EXPECT_EQ(cursor.to_string(), "42.7");
  EXPECT_EQ(store_cursor::parse("42.7"), cursor);
  const store_cursor largest{UINT64_MAX, UINT64_MAX};
  EXPECT_EQ(largest.to_string().size(), store_cursor::max_length);
  EXPECT_EQ(store_cursor::parse(largest.to_string()), largest);
}

TEST(StoreCursor, RefusesEverythingElse) {
  for (const char* bad : {"", ".", "42.", ".7", "42-7", "42.7x", "x42.7", "42.-1", "-42.1", "+42.1", " 42.1",
                          "42.7.1", "42.99999999999999999999999", "42 .7"}) {
    EXPECT_FALSE(store_cursor::parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace progress::bridge
