#include "progress/publisher/publisher_options.hpp"

#include <gtest/gtest.h>

#include "progress/publisher/message_transport.hpp"
#include "progress/publisher/publish_error.hpp"

namespace progress::test {
namespace {

TEST(publisher_options_test, DefaultsAreTheDocumentedOnes) {
  const publisher_options options;
  EXPECT_EQ(options.url, "tcp://127.0.0.1:1883");
  EXPECT_EQ(options.throttle_interval, std::chrono::milliseconds{100});
  EXPECT_EQ(options.max_buffered, 10000u);
  EXPECT_TRUE(options.client_id.empty());
  EXPECT_FALSE(options.on_error);
}

TEST(publish_error_test, CarriesCodeReasonAndText) {
  const publish_error error(publish_errc::rejected, "Not authorized (0x87)", 0x87);
  EXPECT_EQ(error.code(), publish_errc::rejected);
  EXPECT_EQ(error.reason_code(), 0x87);
  EXPECT_STREQ(error.what(), "Not authorized (0x87)");
  EXPECT_EQ(to_string(publish_errc::buffer_full), "buffer_full");
  EXPECT_EQ(to_string(publish_errc::timed_out), "timed_out");
}

}  // namespace
}  // namespace progress::test
