#include "parse_integer.hpp"

#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

namespace progress::bridge {
namespace {

TEST(ParseInteger, PlainDigitsWithinTheRange) {
  EXPECT_EQ(parse_integer<int>("0", 0, 10), 0);
  EXPECT_EQ(parse_integer<int>("10", 0, 10), 10);
  EXPECT_EQ(parse_integer<std::uint16_t>("65535", 0, 65535), 65535);
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(parse_integer<std::uint64_t>("18446744073709551615", 0, max), max);
}

TEST(ParseInteger, NothingElse) {
  for (const char* bad : {"", "-1", "-0", "+1", " 1", "1 ", "1x", "0x10", "1.5", "11", "99999999999999999999"}) {
    EXPECT_FALSE(parse_integer<int>(bad, 0, 10)) << '"' << bad << '"';
  }
  EXPECT_FALSE(parse_integer<std::uint16_t>("65536", 0, 65535));
  EXPECT_FALSE(parse_integer<std::int64_t>("4", 5, 9)) << "below the minimum";
}

}  // namespace
}  // namespace progress::bridge
