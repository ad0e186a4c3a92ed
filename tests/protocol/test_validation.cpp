#include "progress/protocol/validation.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace progress;

namespace {

const job_key alice_job{"alice", "j1"};

reject_reason reason_of(std::string_view payload) {
  const auto result = parse_update(alice_job, payload);
  EXPECT_FALSE(result) << payload;
  return result ? reject_reason::invalid_value : result.error->reason;
}

}  // namespace

TEST(validation, accepts_a_full_state) {
  const auto result = parse_update(alice_job, R"({
    "status":"in_progress","progress":50,"phase":3,"totalPhases":6,"phaseTitle":"Deploy",
    "message":"Deploying","detail":"step 3","current":5,"total":10,"type":"launch_token",
    "etaMs":2000,"details":{"a":[1,2]},"seq":4,"attempt":1,"workerId":"w1",
    "timestamp":1700000000000,"userId":"alice","jobId":"j1","someFutureField":true})");
  ASSERT_TRUE(result) << result.error->message;
  EXPECT_EQ(result.state->status, job_status::in_progress);
  EXPECT_EQ(result.state->phase_title, "Deploy");
  EXPECT_EQ(result.state->seq, 4);
}

TEST(validation, accepts_integral_floats_and_null_as_absent) {
  const auto result = parse_update(alice_job, R"({"status":"queued","seq":3.0,"message":null})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result.state->seq, 3);
  EXPECT_FALSE(result.state->message);
}

TEST(validation, rejects_by_reason) {
  EXPECT_EQ(reason_of("{not json"), reject_reason::invalid_json);
  EXPECT_EQ(reason_of(""), reject_reason::invalid_json);
  EXPECT_EQ(reason_of("[1,2]"), reject_reason::not_an_object);
  EXPECT_EQ(reason_of(R"({"progress":1})"), reject_reason::missing_field);
  EXPECT_EQ(reason_of(R"({"status":1})"), reject_reason::wrong_type);
  EXPECT_EQ(reason_of(R"({"status":"done"})"), reject_reason::invalid_value);
  EXPECT_EQ(reason_of(R"({"status":"queued","progress":"50"})"), reject_reason::wrong_type);
  EXPECT_EQ(reason_of(R"({"status":"queued","progress":100.5})"), reject_reason::out_of_range);
  EXPECT_EQ(reason_of(R"({"status":"queued","progress":-1})"), reject_reason::out_of_range);
  EXPECT_EQ(reason_of(R"({"status":"queued","phase":7,"totalPhases":6})"), reject_reason::out_of_range);
  EXPECT_EQ(reason_of(R"({"status":"queued","totalPhases":0})"), reject_reason::out_of_range);
  EXPECT_EQ(reason_of(R"({"status":"queued","seq":1.5})"), reject_reason::wrong_type);
  EXPECT_EQ(reason_of(R"({"status":"queued","seq":-1})"), reject_reason::out_of_range);
  EXPECT_EQ(reason_of(R"({"status":"queued","seq":18446744073709551615})"), reject_reason::out_of_range);
  EXPECT_EQ(reason_of(R"({"status":"queued","current":-3})"), reject_reason::out_of_range);
  EXPECT_EQ(reason_of(R"({"status":"queued","type":"a/b"})"), reject_reason::invalid_value);
  EXPECT_EQ(reason_of(R"({"status":"queued","details":[1]})"), reject_reason::wrong_type);
  EXPECT_EQ(reason_of(R"({"status":"failed","error":"boom"})"), reject_reason::wrong_type);
  EXPECT_EQ(reason_of(R"({"status":"failed","error":{"code":"E1"}})"), reject_reason::missing_field);
  EXPECT_EQ(reason_of(R"({"status":"queued","workerId":"w/1"})"), reject_reason::invalid_value);
  EXPECT_EQ(reason_of(R"({"status":"queued","userId":"bob"})"), reject_reason::id_mismatch);
  EXPECT_EQ(reason_of(R"({"status":"queued","jobId":"j2"})"), reject_reason::id_mismatch);
}

TEST(validation, rejects_oversize_non_utf8_and_deep_payloads) {
  const std::string big = R"({"status":"queued","message":")" + std::string(max_payload_bytes, 'x') + "\"}";
  EXPECT_EQ(reason_of(big), reject_reason::oversize);
  EXPECT_EQ(reason_of("{\"status\":\"queued\",\"message\":\"\xff\"}"), reject_reason::invalid_utf8);
  std::string deep = R"({"status":"queued","details":)";
  for (int i = 0; i < 40; ++i) deep += R"({"a":)";
  deep += "1";
  for (int i = 0; i < 40; ++i) deep += "}";
  deep += "}";
  EXPECT_EQ(reason_of(deep), reject_reason::too_deep);
  // Brackets inside strings do not count towards depth.
  const auto brackets =
      parse_update(alice_job, R"({"status":"queued","message":"[[[[[[[[[[[[[[[[[[[[[[[[[[["})");
  EXPECT_TRUE(brackets);
}

TEST(validation, utf8_checker_matches_the_standard) {
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(is_valid_utf8("\x80"));
}

TEST(validation, validates_states_built_in_code) {
  job_state state;
  state.status = job_status::in_progress;
  EXPECT_FALSE(validate(state));
  state.progress = 101;
  ASSERT_TRUE(validate(state));
  EXPECT_EQ(validate(state)->field, "progress");
  state.progress = 50;
  state.message = std::string(max_text_length + 1, 'm');
  EXPECT_EQ(validate(state)->reason, reject_reason::out_of_range);
  state.message = "ok";
  state.error = job_error{"", std::nullopt};
  EXPECT_EQ(validate(state)->field, "error.message");
}
