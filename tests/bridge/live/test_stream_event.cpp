#include "stream_event.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "job_fixtures.hpp"

namespace progress::bridge {
namespace {

using fixtures::stored;
using nlohmann::json;

TEST(StreamEvent, JobMessageCarriesTheStoredJsonAndCursor) {
  const auto job = stored("alice", "j1", job_status::in_progress);
  const auto event = make_stream_event(job_change{5, job->key, job}, 9);
  EXPECT_FALSE(event->keep);
  const auto message = json::parse(event->websocket_text);
  EXPECT_EQ(message["type"], "job");
  EXPECT_EQ(message["cursor"], "9.5");
  EXPECT_EQ(message["job"]["jobId"], "j1");
  EXPECT_EQ(event->sse_text, "event: job\nid: 9.5\ndata: " + event->websocket_text + "\n\n");
}

TEST(StreamEvent, TerminalStatesAndRemovalsAreKept) {
  const auto done = stored("alice", "j1", job_status::failed);
  EXPECT_TRUE(make_stream_event(job_change{3, done->key, done}, 1)->keep);
  const auto removed = make_stream_event(job_change{4, job_key{"alice", "j1"}, nullptr}, 1);
  EXPECT_TRUE(removed->keep);
  EXPECT_TRUE(removed->removed());
  const auto message = json::parse(removed->websocket_text);
  EXPECT_EQ(message,
            json({{"type", "job_removed"}, {"userId", "alice"}, {"jobId", "j1"}, {"cursor", "1.4"}}));
  EXPECT_TRUE(removed->sse_text.starts_with("event: job_removed\nid: 1.4\n"));
}

TEST(StreamEvent, SseTextOnlyWhenAsked) {
  const auto job = stored("alice", "j1", job_status::in_progress);
  const auto event = make_stream_event(job_change{5, job->key, job}, 9, /*with_sse=*/false);
  EXPECT_TRUE(event->sse_text.empty());
  EXPECT_FALSE(event->websocket_text.empty());
}

}  // namespace
}  // namespace progress::bridge
