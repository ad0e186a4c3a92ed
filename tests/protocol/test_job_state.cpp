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

TEST(job_status, names_and_terminal_states) {
  EXPECT_EQ(to_string(job_status::in_progress), "in_progress");
  EXPECT_EQ(parse_job_status("cancelled"), job_status::cancelled);
  EXPECT_FALSE(parse_job_status("done"));
  EXPECT_FALSE(is_terminal(job_status::started));
  EXPECT_TRUE(is_terminal(job_status::completed));
  EXPECT_TRUE(is_terminal(job_status::failed));
  EXPECT_TRUE(is_terminal(job_status::cancelled));
}
