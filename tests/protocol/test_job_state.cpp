#include "progress/protocol/job_state.hpp"

#include <gtest/gtest.h>

#include "progress/protocol/validation.hpp"

using namespace progress;
using nlohmann::json;

TEST(job_state, serialises_camel_case_and_omits_absent_fields) {
  job_state state;
  state.status = job_status::in_progress;
  state.progress = 42.5;
  state.total_phases = 6;
  state.phase = 2;
  state.phase_title = "Upload";
  state.eta_ms = 1500;
  state.error = job_error{"boom", "E42"};
  const json out = state;
  EXPECT_EQ(out, json::parse(R"({"status":"in_progress","progress":42.5,"phase":2,"totalPhases":6,
      "phaseTitle":"Upload","etaMs":1500,"error":{"message":"boom","code":"E42"}})"));
}

TEST(job_state, round_trips_through_parse_update) {
  job_state state;
  state.status = job_status::failed;
  state.progress = 10;
  state.current = 3;
  state.total = 9;
  state.type = "data_import";
  state.details = json{{"rows", 3}};
  state.seq = 7;
  state.attempt = 2;
  state.worker_id = "w-1";
  state.timestamp = 1700000000000;
  state.user_id = "alice";
  state.job_id = "j1";
  state.error = job_error{"disk full", std::nullopt};
  const auto parsed = parse_update(job_key{"alice", "j1"}, json(state).dump());
  ASSERT_TRUE(parsed) << parsed.error->message;
  EXPECT_EQ(*parsed.state, state);
}

// Every layout of a number: plain, with leading zeros, whole, and exponents
// on both sides, and digits where Grisu2 is not the shortest (the fuzzer found
// 0.0001, which std::to_chars writes 1e-04, and 1.27777752).
TEST(job_state, append_json_writes_numbers_as_the_json_library_does) {
  for (const double progress : {0.0,
                                -0.0,
                                0.0001,
                                0.00010,
                                1.27777752,
                                0.00012345,
                                0.001,
                                0.1,
                                1.0,
                                12.5,
                                33.333333333333336,
                                99.99,
                                100.0,
                                1e-5,
                                1.5e-7,
                                123456789012345.0,
                                1e15,
                                1.25e16,
                                1e100,
                                -2.5e-9,
                                5e-324,
                                1.7976931348623157e308}) {
    job_state s;
    s.progress = progress;
    std::string written;
    append_json(written, s);
    EXPECT_EQ(written, nlohmann::json(s).dump()) << progress;
  }
}

TEST(job_status, names_and_terminal_states) {
  EXPECT_EQ(to_string(job_status::in_progress), "in_progress");
  EXPECT_EQ(parse_job_status("cancelled"), job_status::cancelled);
  EXPECT_FALSE(parse_job_status("done"));
  EXPECT_FALSE(is_terminal(job_status::started));
  EXPECT_TRUE(is_terminal(job_status::completed));
  EXPECT_TRUE(is_terminal(job_status::failed));
  EXPECT_TRUE(is_terminal(job_status::cancelled));
}

namespace progress {
namespace {

// The hand-written serializer writes exactly what nlohmann::json would.
TEST(job_state, append_json_matches_the_json_library) {
  job_state full;
  full.status = job_status::failed;
  full.progress = 42.5;
  full.phase = 2;
  full.total_phases = 5;
  full.phase_title = "Deploy \"contract\"";
  full.message = "line\nbreak\ttab\\slash \x01 control";
  full.detail = "caf\xc3\xa9 \xe2\x9c\x93";
  full.current = 12;
  full.total = 30;
  full.type = "launch_token";
  full.eta_ms = 0;
  full.error = job_error{"Disk full", "E_DISK"};
  full.details = nlohmann::json{{"files", 3}, {"name", "a\"b"}, {"nested", {{"x", 1.5}}}};
  full.seq = 9007199254740993;
  full.attempt = 2;
  full.worker_id = "w-1";
  full.timestamp = 1796154346025;
  full.user_id = "alice";
  full.job_id = "j.1";

  job_state whole_progress;
  whole_progress.progress = 100;
  job_state tiny;
  tiny.progress = 1e-7;
  job_state error_without_code;
  error_without_code.error = job_error{"boom", std::nullopt};

  job_state empty;
  for (const job_state* state : {&full, &whole_progress, &tiny, &error_without_code, &empty}) {
    const job_state& s = *state;
    nlohmann::json expected = s;
    expected["updatedAt"] = 1234;
    std::string written;
    append_json(written, s, 1234);
    EXPECT_EQ(written, expected.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    std::string without;
    append_json(without, s);
    EXPECT_EQ(without, nlohmann::json(s).dump());
  }
}

}  // namespace
}  // namespace progress
