#include "query_string.hpp"

#include <string>

#include <gtest/gtest.h>

namespace progress::bridge {
namespace {

TEST(PercentDecode, DecodesEscapesInEitherCase) {
  EXPECT_EQ(percent_decode("a%2Fb%2fc", false), "a/b/c");
  EXPECT_EQ(percent_decode("%41%42", false), "AB");
  EXPECT_EQ(percent_decode("plain", false), "plain");
  EXPECT_EQ(percent_decode("", false), "");
}

TEST(PercentDecode, PlusIsSpaceOnlyWhenAsked) {
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_EQ(percent_decode("a%2Bb", true), "a+b");
}

TEST(PercentDecode, RejectsTruncatedAndNonHexEscapes) {
  EXPECT_FALSE(percent_decode("%", false));
  EXPECT_FALSE(percent_decode("abc%4", false));
  EXPECT_FALSE(percent_decode("%zz", false));
  EXPECT_FALSE(percent_decode("%4g", false));
}

TEST(PercentDecode, RejectsNul) {
  EXPECT_FALSE(percent_decode("a%00b", false));
}

TEST(SplitTarget, SeparatesPathAndQuery) {
  EXPECT_EQ(split_target("/a/b?x=1&y=2").first, "/a/b");
  EXPECT_EQ(split_target("/a/b?x=1&y=2").second, "x=1&y=2");
  EXPECT_EQ(split_target("/a").second, "");
  EXPECT_EQ(split_target("/a?").first, "/a");
  EXPECT_EQ(split_target("/a?b?c").second, "b?c");
}

TEST(QueryParams, ParsesPairsAndDecodesThem) {
  const auto q = query_params::parse("status=active&type=video%20encode&limit=10&flag");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->size(), 4u);
  EXPECT_EQ(q->get("status"), "active");
  EXPECT_EQ(q->get("type"), "video encode");
  EXPECT_EQ(q->get("limit"), "10");
  EXPECT_EQ(q->get("flag"), "");
  EXPECT_FALSE(q->get("missing"));
}

TEST(QueryParams, FirstValueWins) {
  const auto q = query_params::parse("a=1&a=2");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->get("a"), "1");
}

TEST(QueryParams, SkipsEmptyPairs) {
  const auto q = query_params::parse("&&a=1&&");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->size(), 1u);
  EXPECT_TRUE(query_params::parse("")->empty());
}

TEST(QueryParams, EncodedNameAndEqualsInValue) {
  const auto q = query_params::parse("access%5Ftoken=a.b=c");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->get("access_token"), "a.b=c");
}

TEST(QueryParams, RejectsMalformedEscapes) {
  EXPECT_FALSE(query_params::parse("a=%G1"));
  EXPECT_FALSE(query_params::parse("a%=1"));
}

TEST(QueryParams, RejectsTooManyParameters) {
  std::string q;
  for (std::size_t i = 0; i < max_query_params; ++i) q += "p" + std::to_string(i) + "=1&";
  EXPECT_TRUE(query_params::parse(q));
  q += "one=more";
  EXPECT_FALSE(query_params::parse(q));
}

TEST(QueryParams, RejectsOverlongQuery) {
  EXPECT_TRUE(query_params::parse("a=" + std::string(max_query_length - 2, 'x')));
  EXPECT_FALSE(query_params::parse("a=" + std::string(max_query_length - 1, 'x')));
}

}  // namespace
}  // namespace progress::bridge
