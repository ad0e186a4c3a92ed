#include "byte_size.hpp"

#include <gtest/gtest.h>

namespace progress::bridge {
namespace {

TEST(ByteSize, BytesAndPowersOf1024) {
  EXPECT_EQ(parse_byte_size("0"), 0u);
  EXPECT_EQ(parse_byte_size("1048576"), 1048576u);
  EXPECT_EQ(parse_byte_size("512k"), 512u * 1024);
  EXPECT_EQ(parse_byte_size("512K"), 512u * 1024);
  EXPECT_EQ(parse_byte_size("64M"), 64u << 20);
  EXPECT_EQ(parse_byte_size("64MiB"), 64u << 20);
  EXPECT_EQ(parse_byte_size("64MB"), 64u << 20);
  EXPECT_EQ(parse_byte_size("1G"), std::uint64_t{1} << 30);
  EXPECT_EQ(parse_byte_size("2TiB"), std::uint64_t{2} << 40);
  EXPECT_EQ(parse_byte_size("100B"), 100u);
}

TEST(ByteSize, NothingElse) {
  for (const char* bad : {"", "k", "MiB", "-1", "1.5G", "1 G", "1x", "1KK", "99999999999999999999", "17179869184G"}) {
    EXPECT_FALSE(parse_byte_size(bad)) << '"' << bad << '"';
  }
}

}  // namespace
}  // namespace progress::bridge
