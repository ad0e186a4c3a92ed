#include "progress/protocol/topic.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

using namespace progress;

TEST(topic, ids_follow_the_charset_and_length_rule) {
  EXPECT_TRUE(is_valid_id("alice"));
  EXPECT_TRUE(is_valid_id("A-Z_a.z-09"));
  EXPECT_TRUE(is_valid_id(std::string(128, 'x')));
  EXPECT_FALSE(is_valid_id(""));
  EXPECT_FALSE(is_valid_id(std::string(129, 'x')));
  for (const char* bad : {"a/b", "a+", "#", "a b", "ä", "a\nb", "a:b"}) {
    EXPECT_FALSE(is_valid_id(bad)) << bad;
  }
  EXPECT_FALSE(is_valid_id(std::string("a\0b", 3)));
}

TEST(topic, ids_made_only_of_dots_are_refused) {
  for (const char* dots : {".", "..", "..."}) EXPECT_FALSE(is_valid_id(dots)) << dots;
  EXPECT_FALSE(is_valid_id(std::string(128, '.')));
  for (const char* fine : {".a", "a.", "..a..", ".-"}) EXPECT_TRUE(is_valid_id(fine)) << fine;
  EXPECT_THROW((void)job_topic("..", "j"), std::invalid_argument);
  EXPECT_THROW((void)job_topic("alice", "."), std::invalid_argument);
  EXPECT_FALSE(parse_job_topic("users/../jobs/j"));
}

TEST(topic, builds_job_topics_and_refuses_bad_ids) {
  EXPECT_EQ(job_topic("alice", "job-1"), "users/alice/jobs/job-1");
  EXPECT_THROW((void)job_topic("al/ice", "job"), std::invalid_argument);
  EXPECT_THROW((void)job_topic("alice", "#"), std::invalid_argument);
  EXPECT_EQ(worker_status_topic("w1"), "workers/w1/status");
  EXPECT_THROW((void)worker_status_topic("w/1"), std::invalid_argument);
}

TEST(topic, parses_job_topics) {
  const auto key = parse_job_topic("users/alice/jobs/j.1");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->user_id, "alice");
  EXPECT_EQ(key->job_id, "j.1");
  for (const char* bad : {"users/alice/jobs/", "users//jobs/j", "users/alice/jobs/a/b", "user/alice/jobs/j",
                          "users/alice/job/j", "users/a+b/jobs/j", "workers/w/status", ""}) {
    EXPECT_FALSE(parse_job_topic(bad)) << bad;
  }
}

TEST(topic, control_topics_sit_below_their_job_topic) {
  EXPECT_EQ(control_topic("alice", "j1"), "users/alice/jobs/j1/control");
  EXPECT_EQ(control_topic(job_key{"bob", "x.y"}), "users/bob/jobs/x.y/control");
  EXPECT_THROW((void)control_topic("a+", "j"), std::invalid_argument);
  const auto key = parse_control_topic("users/alice/jobs/j1/control");
  ASSERT_TRUE(key);
  EXPECT_EQ(*key, (job_key{"alice", "j1"}));
  // A control topic is never mistaken for a job topic, nor the other way round.
  EXPECT_FALSE(parse_job_topic("users/alice/jobs/j1/control"));
  EXPECT_FALSE(parse_control_topic("users/alice/jobs/j1"));
}

TEST(topic, parses_worker_status_topics) {
  EXPECT_EQ(parse_worker_status_topic("workers/w1/status"), "w1");
  EXPECT_EQ(parse_worker_status_topic(worker_status_topic("a.b-c_9")), "a.b-c_9");
  for (const char* bad : {"workers/status", "workers//status", "workers/a/b/status", "workers/w1/statuss",
                          "workers/../status", "worker/w1/status", "workers/w1", "users/alice/jobs/j", ""}) {
    EXPECT_FALSE(parse_worker_status_topic(bad)) << bad;
  }
}
