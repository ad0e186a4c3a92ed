#include "compact_optional.hpp"

#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

namespace progress::bridge {
namespace {

TEST(CompactOptional, IsTheSizeOfItsValue) {
  static_assert(sizeof(compact_optional<std::int64_t>) == sizeof(std::int64_t));
  static_assert(sizeof(compact_optional<double>) == sizeof(double));
  static_assert(sizeof(compact_optional<std::string>) == sizeof(std::string));
}

TEST(CompactOptional, ReadsLikeStdOptional) {
  compact_optional<std::int64_t> seq;
  EXPECT_FALSE(seq);
  EXPECT_EQ(seq.value_or(7), 7);
  seq = 0;  // zero is a value, not "none"
  ASSERT_TRUE(seq);
  EXPECT_EQ(*seq, 0);
  EXPECT_EQ(seq, 0);
  EXPECT_EQ(std::optional<std::int64_t>{seq}, std::optional<std::int64_t>{0});
  seq.reset();
  EXPECT_EQ(std::optional<std::int64_t>{seq}, std::nullopt);

  compact_optional<double> progress{std::optional<double>{42.5}};
  EXPECT_EQ(*progress, 42.5);
  progress = std::nullopt;
  EXPECT_FALSE(progress);

  compact_optional<std::string> type{std::optional<std::string>{"import"}};
  EXPECT_EQ(type, std::string{"import"});
  EXPECT_EQ(type->size(), 6u);
  EXPECT_FALSE(compact_optional<std::string>{std::optional<std::string>{}});
}

TEST(CompactOptional, EqualWhenBothAreNoneOrHoldTheSameValue) {
  EXPECT_EQ(compact_optional<double>{}, compact_optional<double>{});  // NaN inside, yet equal
  EXPECT_NE(compact_optional<double>{}, compact_optional<double>{0.0});
  EXPECT_EQ(compact_optional<std::int64_t>{5}, compact_optional<std::int64_t>{5});
  EXPECT_NE(compact_optional<std::int64_t>{5}, compact_optional<std::int64_t>{});
}

TEST(CompactOptional, RefusesTheValueThatMeansNone) {
  EXPECT_THROW(compact_optional<std::int64_t>{-1}, std::invalid_argument);
  EXPECT_THROW(compact_optional<std::int64_t>{std::optional<std::int64_t>{-5}}, std::invalid_argument);
  EXPECT_THROW(compact_optional<double>{std::nan("")}, std::invalid_argument);
  EXPECT_THROW(compact_optional<std::string>{std::string{}}, std::invalid_argument);
}

}  // namespace
}  // namespace progress::bridge
