#include "stream_event.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "stream_scope.hpp"

namespace progress::bridge {
namespace {

using nlohmann::json;

std::shared_ptr<const stored_job> stored(std::string user, std::string job, job_status status,
                                         std::optional<std::string> type = std::nullopt) {
  auto s = std::make_shared<stored_job>();
  s->key = job_key{std::move(user), std::move(job)};
  s->state.status = status;
  s->state.type = std::move(type);
  s->json = std::make_shared<const std::string>(R"({"userId":")" + s->key.user_id + R"(","jobId":")" +
                                                s->key.job_id + R"(","status":"x"})");
  return s;
}

TEST(StreamCursor, RoundTripsWithinOneEpoch) {
  const auto cursor = stream_cursor(42, 7);
  EXPECT_EQ(cursor, "42.7");
  EXPECT_EQ(parse_stream_cursor(cursor, 42), 7u);
}

TEST(StreamCursor, RefusesOtherEpochsAndGarbage) {
  EXPECT_FALSE(parse_stream_cursor("41.7", 42));
  for (const char* bad :
       {"", ".", "42.", ".7", "42-7", "42.7x", "x42.7", "42.-1", "42.7.1", "42.99999999999999999999999"}) {
    EXPECT_FALSE(parse_stream_cursor(bad, 42)) << bad;
  }
}

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

TEST(StreamScope, FiltersByUserJobAndType) {
  const auto job = stored("alice", "j1", job_status::queued, "data_import");
  EXPECT_TRUE((stream_scope{"alice", {}, {}}).covers(job->key, job.get()));
  EXPECT_FALSE((stream_scope{"bob", {}, {}}).covers(job->key, job.get()));
  EXPECT_TRUE((stream_scope{std::nullopt, {}, {}}).covers(job->key, job.get()));
  EXPECT_TRUE((stream_scope{"alice", {"j0", "j1"}, {}}).covers(job->key, job.get()));
  EXPECT_FALSE((stream_scope{"alice", {"j2"}, {}}).covers(job->key, job.get()));
  EXPECT_TRUE((stream_scope{"alice", {}, {"data_import"}}).covers(job->key, job.get()));
  EXPECT_FALSE((stream_scope{"alice", {}, {"launch_token"}}).covers(job->key, job.get()));
  const auto untyped = stored("alice", "j3", job_status::queued);
  EXPECT_FALSE((stream_scope{"alice", {}, {"launch_token"}}).covers(untyped->key, untyped.get()));
  // A removal has no type: it passes the type filter, not the user filter.
  EXPECT_TRUE((stream_scope{"alice", {}, {"launch_token"}}).covers(job->key, nullptr));
  EXPECT_FALSE((stream_scope{"bob", {}, {}}).covers(job->key, nullptr));
}

}  // namespace
}  // namespace progress::bridge

namespace progress::bridge {
namespace {

TEST(StreamEvent, SseTextOnlyWhenAsked) {
  const auto job = stored("alice", "j1", job_status::in_progress);
  const auto event = make_stream_event(job_change{5, job->key, job}, 9, /*with_sse=*/false);
  EXPECT_TRUE(event->sse_text.empty());
  EXPECT_FALSE(event->websocket_text.empty());
}

}  // namespace
}  // namespace progress::bridge
