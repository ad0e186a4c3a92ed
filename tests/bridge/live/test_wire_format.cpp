#include "wire_format.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "job_fixtures.hpp"

namespace progress::bridge {
namespace {

using fixtures::stored;
using nlohmann::json;

TEST(WireFormat, JobAndRemovalMessages) {
  const auto job = stored("alice", "j1", job_status::in_progress);
  const auto message = json::parse(wire::job_message(*job, "9.5"));
  EXPECT_EQ(message["type"], "job");
  EXPECT_EQ(message["job"], json::parse(*job->json));
  EXPECT_EQ(message["cursor"], "9.5");
  EXPECT_EQ(json::parse(wire::job_removed_message(job->key, "9.6")),
            json({{"type", "job_removed"}, {"userId", "alice"}, {"jobId", "j1"}, {"cursor", "9.6"}}));
  EXPECT_EQ(wire::change_type(job.get()), "job");
  EXPECT_EQ(wire::change_type(nullptr), "job_removed");
}

TEST(WireFormat, SnapshotHoldsTheJobsItsScopeCovers) {
  const std::vector<std::shared_ptr<const stored_job>> jobs{stored("alice", "a2", job_status::queued),
                                                            stored("bob", "b1", job_status::queued),
                                                            stored("alice", "a1", job_status::completed)};
  const auto snapshot =
      json::parse(wire::snapshot_message(jobs, stream_scope{"alice", {}, {}}, "3.4", false));
  EXPECT_EQ(snapshot["type"], "snapshot");
  ASSERT_EQ(snapshot["jobs"].size(), 2u);
  EXPECT_EQ(snapshot["jobs"][0]["jobId"], "a2");
  EXPECT_EQ(snapshot["jobs"][1]["jobId"], "a1");
  EXPECT_EQ(snapshot["cursor"], "3.4");
  EXPECT_EQ(snapshot["recovered"], false);
  EXPECT_FALSE(snapshot.contains("truncated"));
  const auto everyone = json::parse(wire::snapshot_message(jobs, stream_scope{}, "3.4", true));
  EXPECT_EQ(everyone["jobs"].size(), 3u);
  EXPECT_EQ(everyone["truncated"], true);
}

TEST(WireFormat, StateSnapshotHoldsChangedJobsRemovalsAndTheCountKept) {
  const std::vector<std::shared_ptr<const stored_job>> jobs{fixtures::stored("alice", "new", job_status::queued),
                                                            fixtures::stored("bob", "theirs", job_status::queued)};
  const std::vector<job_key> removed{{"alice", "gone"}, {"bob", "not-hers"}};
  const auto message =
      json::parse(wire::state_snapshot_message(jobs, removed, 4, stream_scope{"alice", {}, {}}, "3.9"));
  EXPECT_EQ(message["type"], "snapshot");
  EXPECT_EQ(message["recovery"], "state");
  EXPECT_EQ(message["recovered"], false);
  EXPECT_EQ(message["cursor"], "3.9");
  ASSERT_EQ(message["jobs"].size(), 1u);
  EXPECT_EQ(message["jobs"][0]["jobId"], "new");
  EXPECT_EQ(message["removed"], json::parse(R"([{"userId":"alice","jobId":"gone"}])"));
  EXPECT_EQ(message["unchanged"], 4);
}

TEST(WireFormat, ResumeErrorAndPong) {
  EXPECT_EQ(json::parse(wire::resume_message("3.4")),
            json({{"type", "resume"}, {"cursor", "3.4"}, {"recovered", true}}));
  EXPECT_EQ(json::parse(wire::error_message("forbidden", "no \"quotes\"\n")),
            json({{"type", "error"}, {"code", "forbidden"}, {"message", "no \"quotes\"\n"}}));
  EXPECT_EQ(json::parse(wire::pong_message("\"abc\"")), json({{"type", "pong"}, {"id", "abc"}}));
  EXPECT_EQ(json::parse(wire::pong_message("null")), json({{"type", "pong"}, {"id", nullptr}}));
  // Invalid UTF-8 in a message is replaced, never thrown on.
  EXPECT_NO_THROW(json::parse(wire::error_message("bad_request", "\xff")));
}

TEST(WireFormat, FramesForWebSocketAndSse) {
  EXPECT_EQ(wire::frame(stream_framing::websocket, "job", "1.2", "{}"), "{}");
  EXPECT_EQ(wire::frame(stream_framing::sse, "job", "1.2", "{}"), "event: job\nid: 1.2\ndata: {}\n\n");
  EXPECT_EQ(wire::frame(stream_framing::sse, "error", "", "{}"), "event: error\ndata: {}\n\n");
  EXPECT_EQ(wire::sse_heartbeat(), ": heartbeat\n\n");
  EXPECT_EQ(to_string(stream_framing::websocket), "websocket");
  EXPECT_EQ(to_string(stream_framing::sse), "sse");
}

TEST(WireFormat, SseResponseHeadHasNoLengthAndCorsHeaders) {
  http_request req{http::verb::get, "/api/v1/users/alice/stream", 11};
  req.set(http::field::origin, "https://app.example");
  const auto head = wire::sse_response_head(req, cors_policy{{"https://app.example"}});
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(head.ends_with("\r\n\r\n"));
  EXPECT_NE(head.find("Content-Type: text/event-stream; charset=utf-8\r\n"), std::string::npos);
  EXPECT_NE(head.find("Access-Control-Allow-Origin: https://app.example\r\n"), std::string::npos);
  EXPECT_NE(head.find("X-Accel-Buffering: no\r\n"), std::string::npos);
  EXPECT_EQ(head.find("Content-Length"), std::string::npos);
}

}  // namespace
}  // namespace progress::bridge
