#include "stream_scope.hpp"

#include <gtest/gtest.h>

#include "job_fixtures.hpp"

namespace progress::bridge {
namespace {

using fixtures::stored;

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
