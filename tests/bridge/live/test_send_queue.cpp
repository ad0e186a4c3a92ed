#include "send_queue.hpp"

#include <algorithm>
#include <string>

#include <gtest/gtest.h>

namespace progress::bridge {
namespace {

std::shared_ptr<const stream_event> change(std::string job, std::uint64_t revision, bool keep = false) {
  auto event = std::make_shared<stream_event>();
  event->revision = revision;
  event->key = job_key{"alice", std::move(job)};
  event->keep = keep;
  event->websocket_text = std::to_string(revision);
  return event;
}

outgoing_message of(std::shared_ptr<const stream_event> event) {
  return outgoing_message{std::move(event), nullptr};
}

outgoing_message own(std::string text) {
  return outgoing_message{nullptr, std::make_shared<const std::string>(std::move(text))};
}

std::vector<std::uint64_t> drain_revisions(send_queue& queue) {
  std::vector<std::uint64_t> revisions;
  while (!queue.empty()) {
    const auto message = queue.pop();
    revisions.push_back(message.event ? message.event->revision : 0);
  }
  return revisions;
}

TEST(SendQueue, KeepsOrderOfDistinctJobs) {
  send_queue queue{8};
  EXPECT_EQ(queue.push(of(change("a", 1))), push_result::queued);
  EXPECT_EQ(queue.push(of(change("b", 2))), push_result::queued);
  EXPECT_EQ(queue.push(of(change("c", 3))), push_result::queued);
  EXPECT_EQ(drain_revisions(queue), (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST(SendQueue, NewerUpdateReplacesPendingOneAndMovesToTheBack) {
  send_queue queue{8};
  queue.push(of(change("a", 1)));
  queue.push(of(change("b", 2)));
  EXPECT_EQ(queue.push(of(change("a", 3))), push_result::conflated);
  // Revision order is kept, so each sent cursor covers everything before it.
  EXPECT_EQ(drain_revisions(queue), (std::vector<std::uint64_t>{2, 3}));
}

TEST(SendQueue, TerminalStatesAndRemovalsAreNeverReplaced) {
  send_queue queue{8};
  queue.push(of(change("a", 1, /*keep=*/true)));                            // completed
  EXPECT_EQ(queue.push(of(change("a", 2))), push_result::queued);           // a new attempt
  EXPECT_EQ(queue.push(of(change("a", 3, true))), push_result::conflated);  // removal replaces the update
  EXPECT_EQ(drain_revisions(queue), (std::vector<std::uint64_t>{1, 3}));
}

TEST(SendQueue, OwnMessagesAreNeverConflated) {
  send_queue queue{8};
  queue.push(own("pong"));
  queue.push(own("pong"));
  EXPECT_EQ(queue.size(), 2u);
}

TEST(SendQueue, RefusesPastTheLimitUnlessConflationMakesRoom) {
  send_queue queue{2};
  EXPECT_EQ(queue.push(of(change("a", 1))), push_result::queued);
  EXPECT_EQ(queue.push(of(change("b", 2))), push_result::queued);
  EXPECT_EQ(queue.push(of(change("a", 3))), push_result::conflated);
  EXPECT_EQ(queue.push(of(change("c", 4))), push_result::full);
  EXPECT_EQ(queue.size(), 2u);
}

TEST(SendQueue, DropEventsKeepsOwnMessages) {
  send_queue queue{8};
  queue.push(of(change("a", 1)));
  queue.push(own("error"));
  queue.push(of(change("b", 2)));
  queue.drop_events();
  ASSERT_EQ(queue.size(), 1u);
  EXPECT_EQ(*queue.pop().text, "error");
}

TEST(SendQueue, ZeroLimitStillHoldsOneMessage) {
  send_queue queue{0};
  EXPECT_EQ(queue.push(own("x")), push_result::queued);
  EXPECT_EQ(queue.push(own("y")), push_result::full);
}

}  // namespace
}  // namespace progress::bridge

namespace progress::bridge {
namespace {

TEST(SendQueue, LongRunsOfPushAndPopKeepOrderAndConflation) {
  send_queue queue{100};
  std::uint64_t revision = 0;
  std::vector<std::uint64_t> sent;
  for (int round = 0; round < 50; ++round) {
    for (int job = 0; job < 10; ++job) queue.push(of(change("j" + std::to_string(job % 4), ++revision)));
    for (int i = 0; i < 3 && !queue.empty(); ++i) {
      const auto message = queue.pop();
      if (message.event) sent.push_back(message.event->revision);
    }
    queue.push(own("pong"));
  }
  while (!queue.empty()) {
    const auto message = queue.pop();
    if (message.event) sent.push_back(message.event->revision);
  }
  EXPECT_TRUE(std::is_sorted(sent.begin(), sent.end()));
  EXPECT_EQ(sent.back(), revision);
}

TEST(SendQueue, DropEventsAfterPopsKeepsOnlyPendingOwnMessages) {
  send_queue queue{8};
  queue.push(own("first"));
  queue.push(of(change("a", 1)));
  queue.push(own("second"));
  EXPECT_EQ(*queue.pop().text, "first");
  queue.drop_events();
  ASSERT_EQ(queue.size(), 1u);
  EXPECT_EQ(*queue.pop().text, "second");
  EXPECT_TRUE(queue.empty());
}

}  // namespace
}  // namespace progress::bridge

namespace progress::bridge {
namespace {

TEST(SendQueue, ReplayedChangesAreNotConflated) {
  send_queue queue{8};
  queue.push(of(change("a", 1)), false);
  queue.push(of(change("a", 2)), false);
  EXPECT_EQ(drain_revisions(queue), (std::vector<std::uint64_t>{1, 2}));
}

}  // namespace
}  // namespace progress::bridge
