#include "progress/protocol/control_message.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace progress;

TEST(control_message, parses_a_cancel_request) {
  const auto result = parse_control(
      R"({"action":"cancel","requestId":"r-1","requestedBy":"alice","timestamp":1795000000000})");
  ASSERT_TRUE(result) << result.error->message;
  EXPECT_TRUE(result.message->is_cancel());
  EXPECT_EQ(result.message->request_id, "r-1");
  EXPECT_EQ(result.message->requested_by, "alice");
  EXPECT_EQ(result.message->timestamp, 1795000000000);
}

TEST(control_message, other_actions_parse_but_are_not_cancel) {
  const auto result =
      parse_control(R"({"action":"pause","requestId":"r","requestedBy":"bob","timestamp":1})");
  ASSERT_TRUE(result);
  EXPECT_FALSE(result.message->is_cancel());
}

TEST(control_message, writes_what_it_reads) {
  const control_message message{"cancel", "req.7", "carol", 42};
  const auto text = nlohmann::json(message).dump();
  EXPECT_EQ(text, R"({"action":"cancel","requestId":"req.7","requestedBy":"carol","timestamp":42})");
  const auto back = parse_control(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back.message, message);
}

TEST(control_message, refuses_malformed_payloads_with_a_reason) {
  EXPECT_EQ(parse_control("").error->reason, reject_reason::invalid_json);
  const auto missing = parse_control(R"({"action":"cancel","requestedBy":"a","timestamp":1})");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error->reason, reject_reason::missing_field);
  EXPECT_EQ(missing.error->field, "requestId");
  EXPECT_TRUE(is_valid_request_id(std::string(64, 'r')));
  EXPECT_FALSE(is_valid_request_id(std::string(65, 'r')));
  EXPECT_FALSE(is_valid_request_id("."));
}
