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

outgoing_message view_start(std::string text) {
  return outgoing_message{nullptr, std::make_shared<const std::string>(std::move(text)),
                          /*starts_view=*/true};
}

send_queue_limits messages(std::size_t count) {
  return send_queue_limits{.messages = count};
}

// The oldest pending message, written as a batch of one.
outgoing_message take(send_queue& queue) {
  outgoing_message message = queue.start_batch(1).front();
  queue.end_batch();
  return message;
}

std::vector<std::uint64_t> drain_revisions(send_queue& queue) {
  std::vector<std::uint64_t> revisions;
  while (!queue.empty()) {
    const auto message = take(queue);
    revisions.push_back(message.event ? message.event->revision : 0);
  }
  return revisions;
}

TEST(SendQueue, KeepsOrderOfDistinctJobs) {
  send_queue queue{messages(8)};
  EXPECT_EQ(queue.push(of(change("a", 1))), push_result::queued);
  EXPECT_EQ(queue.push(of(change("b", 2))), push_result::queued);
  EXPECT_EQ(queue.push(of(change("c", 3))), push_result::queued);
  EXPECT_EQ(drain_revisions(queue), (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST(SendQueue, NewerUpdateReplacesPendingOneAndMovesToTheBack) {
  send_queue queue{messages(8)};
  queue.push(of(change("a", 1)));
  queue.push(of(change("b", 2)));
  EXPECT_EQ(queue.push(of(change("a", 3))), push_result::conflated);
  // Revision order is kept, so each sent cursor covers everything before it.
  EXPECT_EQ(drain_revisions(queue), (std::vector<std::uint64_t>{2, 3}));
}

TEST(SendQueue, TerminalStatesAndRemovalsAreNeverReplaced) {
  send_queue queue{messages(8)};
  queue.push(of(change("a", 1, /*keep=*/true)));                            // completed
  EXPECT_EQ(queue.push(of(change("a", 2))), push_result::queued);           // a new attempt
  EXPECT_EQ(queue.push(of(change("a", 3, true))), push_result::conflated);  // removal replaces the update
  EXPECT_EQ(drain_revisions(queue), (std::vector<std::uint64_t>{1, 3}));
}

TEST(SendQueue, OwnMessagesAreNeverConflated) {
  send_queue queue{messages(8)};
  queue.push(own("pong"));
  queue.push(own("pong"));
  EXPECT_EQ(queue.size(), 2u);
}

TEST(SendQueue, RefusesPastTheLimitUnlessConflationMakesRoom) {
  send_queue queue{messages(2)};
  EXPECT_EQ(queue.push(of(change("a", 1))), push_result::queued);
  EXPECT_EQ(queue.push(of(change("b", 2))), push_result::queued);
  EXPECT_EQ(queue.push(of(change("a", 3))), push_result::conflated);
  EXPECT_EQ(queue.push(of(change("c", 4))), push_result::full);
  EXPECT_EQ(queue.size(), 2u);
}

TEST(SendQueue, DropSupersededKeepsOwnMessages) {
  send_queue queue{messages(8)};
  queue.push(of(change("a", 1)));
  queue.push(own("error"));
  queue.push(of(change("b", 2)));
  queue.drop_superseded();
  ASSERT_EQ(queue.size(), 1u);
  EXPECT_EQ(*take(queue).text, "error");
}

TEST(SendQueue, OwnMessagesBeforeTheFirstViewWaitForItAndFollowIt) {
  send_queue queue{messages(8)};
  queue.push(own("head"));  // a message that does not wait (an SSE response head)
  auto early = own("pong 1");
  early.waits_for_view = true;
  queue.push(early);
  early.text = std::make_shared<const std::string>("pong 2");
  queue.push(early);
  ASSERT_TRUE(queue.ready());
  const auto first = queue.start_batch(8);
  ASSERT_EQ(first.size(), 1u) << "the pongs wait for the view";
  EXPECT_EQ(*first.front().text, "head");
  queue.end_batch();
  EXPECT_FALSE(queue.ready());
  EXPECT_FALSE(queue.empty());
  EXPECT_TRUE(queue.start_batch(8).empty());
  queue.end_batch();

  queue.push(view_start("snapshot"));
  ASSERT_TRUE(queue.ready());
  std::vector<std::string> order;
  for (const auto& message : queue.start_batch(8)) order.push_back(*message.text);
  queue.end_batch();
  EXPECT_EQ(order, (std::vector<std::string>{"snapshot", "pong 1", "pong 2"}));
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0u);
}

TEST(SendQueue, ZeroLimitStillHoldsOneMessage) {
  send_queue queue{messages(0)};
  EXPECT_EQ(queue.push(own("x")), push_result::queued);
  EXPECT_EQ(queue.push(own("y")), push_result::full);
}

}  // namespace
}  // namespace progress::bridge

namespace progress::bridge {
namespace {

TEST(SendQueue, LongRunsOfPushAndPopKeepOrderAndConflation) {
  send_queue queue{messages(100)};
  std::uint64_t revision = 0;
  std::vector<std::uint64_t> sent;
  for (int round = 0; round < 50; ++round) {
    for (int job = 0; job < 10; ++job) queue.push(of(change("j" + std::to_string(job % 4), ++revision)));
    for (int i = 0; i < 3 && !queue.empty(); ++i) {
      const auto message = take(queue);
      if (message.event) sent.push_back(message.event->revision);
    }
    queue.push(own("pong"));
  }
  while (!queue.empty()) {
    const auto message = take(queue);
    if (message.event) sent.push_back(message.event->revision);
  }
  EXPECT_TRUE(std::is_sorted(sent.begin(), sent.end()));
  EXPECT_EQ(sent.back(), revision);
}

TEST(SendQueue, DropSupersededAfterTakesKeepsOnlyPendingOwnMessages) {
  send_queue queue{messages(8)};
  queue.push(own("first"));
  queue.push(of(change("a", 1)));
  queue.push(own("second"));
  EXPECT_EQ(*take(queue).text, "first");
  queue.drop_superseded();
  ASSERT_EQ(queue.size(), 1u);
  EXPECT_EQ(*take(queue).text, "second");
  EXPECT_TRUE(queue.empty());
}

}  // namespace
}  // namespace progress::bridge

namespace progress::bridge {
namespace {

TEST(SendQueue, ReplayedChangesAreNotConflated) {
  send_queue queue{messages(8)};
  queue.push(of(change("a", 1)), false);
  queue.push(of(change("a", 2)), false);
  EXPECT_EQ(drain_revisions(queue), (std::vector<std::uint64_t>{1, 2}));
}

}  // namespace
}  // namespace progress::bridge

namespace progress::bridge {
namespace {

TEST(SendQueue, CountsTheBytesItHoldsPendingAndInFlight) {
  send_queue queue{messages(8)};
  queue.push(own("12345"));
  queue.push(of(change("a", 1)));  // websocket_text "1"
  EXPECT_EQ(queue.bytes(), 6u);
  const auto batch = queue.start_batch(1);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(queue.bytes(), 6u) << "the batch in flight is still held";
  queue.end_batch();
  EXPECT_EQ(queue.bytes(), 1u);
  EXPECT_EQ(queue.push(of(change("a", 22))), push_result::conflated);
  EXPECT_EQ(queue.bytes(), 2u) << "a conflated change gives its bytes back";
  queue.clear();
  EXPECT_EQ(queue.bytes(), 0u);
}

TEST(SendQueue, RefusesWhatWouldPassTheByteBudget) {
  send_queue queue{send_queue_limits{.messages = 100, .bytes = 10}};
  EXPECT_EQ(queue.push(own("123456")), push_result::queued);
  EXPECT_EQ(queue.push(own("1234")), push_result::queued);
  EXPECT_EQ(queue.push(own("1")), push_result::over_budget);
  (void)queue.start_batch(1);
  EXPECT_EQ(queue.push(own("1")), push_result::over_budget) << "the batch in flight counts until written";
  queue.end_batch();
  EXPECT_EQ(queue.push(own("123456")), push_result::queued);
}

TEST(SendQueue, SnapshotsAreCountedApartAndAtMostOneWaits) {
  send_queue queue{send_queue_limits{.messages = 100, .bytes = 10}};
  EXPECT_EQ(queue.push(view_start(std::string(50, 's'))), push_result::queued) << "bigger than the budget";
  (void)queue.start_batch(1);  // being written
  EXPECT_EQ(queue.push(own("123456789")), push_result::queued) << "the snapshot is not in the budget";
  EXPECT_EQ(queue.push(view_start(std::string(40, 'a'))), push_result::queued);
  queue.push(of(change("a", 1)));
  EXPECT_EQ(queue.bytes(), 50u + 9u + 40u + 1u);
  EXPECT_EQ(queue.budgeted_bytes(), 10u);

  // A newer snapshot supersedes the pending one and the changes before it.
  queue.drop_superseded();
  EXPECT_EQ(queue.push(view_start(std::string(45, 'b'))), push_result::queued);
  EXPECT_EQ(queue.bytes(), 50u + 9u + 45u);
  queue.end_batch();
  EXPECT_EQ(*take(queue).text, "123456789");
  EXPECT_EQ(*take(queue).text, std::string(45, 'b'));
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0u);
  EXPECT_EQ(queue.budgeted_bytes(), 0u);
}

TEST(SendQueue, AFinalMessageGoesPastEveryLimit) {
  send_queue queue{send_queue_limits{.messages = 1, .bytes = 4}};
  queue.push(own("1234"));
  EXPECT_EQ(queue.push(own("5")), push_result::full);
  queue.clear();
  queue.push_final(own("the end of the stream"));
  EXPECT_EQ(*take(queue).text, "the end of the stream");
}

}  // namespace
}  // namespace progress::bridge
