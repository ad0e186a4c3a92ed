// Slow consumers: conflation, and closing a stream that stopped reading (4008).
#include "live_stream_fixture.hpp"

namespace progress::bridge {
namespace {

TEST_F(LiveStreams, StalledConsumerIsClosed4008WhileOthersKeepReceivingEveryUpdate) {
  auto bridge = start_bridge({"--stream-queue-limit", "16", "--stream-stall-timeout", "2s"});
  const auto port = bridge->port();
  const auto alice = user("alice");
  auto reader = open_websocket(port, token_for(alice));
  auto stalled = open_websocket(port, token_for(alice), {}, small_receive_buffer());
  ASSERT_TRUE(next_of_type(*reader, "snapshot"));
  ASSERT_TRUE(next_of_type(*stalled, "snapshot"));
  // From here on `stalled` reads nothing until the bridge has given up on it.

  const int seq = publish_until_a_stream_stalls(*bridge, *reader, alice, "bulk");
  if (HasFailure()) return;

  // The stalled write runs into the 2 s limit; the reader is served promptly all along. The bridge only
  // counts the close once the connection is gone (after a 5 s close grace, too late for a client to read
  // the close frame), so its debug log tells when it gave up.
  int tick = 0;
  const std::string gave_up = "stream of " + alice + " ends: slow_consumer";
  const bool closing = wait_until(
      [&] {
        publish(alice, "ticker", {{"status", "in_progress"}, {"seq", ++tick}});
        auto update = next_of_type(*reader, "job", 2s);
        EXPECT_TRUE(update && (*update)["job"]["seq"] == tick);
        return bridge->log().find(gave_up) != std::string::npos;
      },
      10s);
  ASSERT_TRUE(closing) << "no slow consumer close after " << tick << " ticks";

  // Draining now, the stalled client finds the close frame behind what was buffered.
  ASSERT_TRUE(stalled->wait_for_end(10s));
  EXPECT_EQ(stalled->close_code(), close_slow_consumer) << stalled->end_reason();
  int last_seq = 0;
  std::string last_cursor;
  while (auto message = stalled->next_message(0ms)) {
    if (message->contains("cursor")) last_cursor = (*message)["cursor"];
    if (message->value("type", "") != "job" || (*message)["job"]["jobId"] != "bulk") continue;
    EXPECT_GT((*message)["job"]["seq"].get<int>(), last_seq);
    last_seq = (*message)["job"]["seq"];
  }
  EXPECT_LT(last_seq, seq) << "the stalled client cannot have read everything";
  EXPECT_TRUE(wait_until([&] { return stream_closes(*bridge, "slow_consumer") == 1; }, 10s))
      << bridge->scrape();
  publish(alice, "bulk", big_update(seq + 1, "completed"));
  auto final_state = next_of_type(*reader, "job");
  ASSERT_TRUE(final_state);
  EXPECT_EQ((*final_state)["job"]["status"], "completed");

  // It comes back with its cursor and learns how the job ended.
  auto back = open_websocket(port, token_for(alice), last_cursor);
  auto first = back->next_message(message_timeout);
  ASSERT_TRUE(first);
  std::optional<json> bulk_state;
  if ((*first)["type"] == "snapshot") {
    if (const auto* job = find_job((*first)["jobs"], alice, "bulk")) bulk_state = *job;
  } else {
    ASSERT_EQ((*first)["type"], "resume") << shortened(*first);
    auto replayed = messages_until(
        *back,
        [](const json& m) { return m.value("job", json::object()).value("status", "") == "completed"; }, 10s);
    ASSERT_TRUE(replayed);
    for (auto& message : *replayed)
      if (message["type"] == "job" && message["job"]["jobId"] == "bulk") bulk_state = message["job"];
  }
  ASSERT_TRUE(bulk_state);
  EXPECT_EQ((*bulk_state)["status"], "completed");
}

TEST_F(LiveStreams, ConsumerWhoseQueueOverflowsIsClosed4008AndResumesWithItsCursor) {
  // A stall limit far beyond this test: only the queue limit can close the stream.
  auto bridge = start_bridge({"--stream-queue-limit", "16", "--stream-stall-timeout", "60s"});
  const auto port = bridge->port();
  const auto alice = user("alice");
  auto reader = open_websocket(port, token_for(alice));
  auto stalled = open_websocket(port, token_for(alice), {}, small_receive_buffer());
  ASSERT_TRUE(next_of_type(*reader, "snapshot"));
  ASSERT_TRUE(next_of_type(*stalled, "snapshot"));
  publish_until_a_stream_stalls(*bridge, *reader, alice, "filler");
  if (HasFailure()) return;

  // Distinct jobs cannot be conflated with each other: the queue outgrows 16.
  constexpr int distinct_jobs = 40;
  for (int job = 1; job <= distinct_jobs; ++job) {
    publish(alice, "many-" + std::to_string(job), {{"status", "queued"}, {"seq", 1}});
    ASSERT_TRUE(next_of_type(*reader, "job"));
  }
  // Reading again at once, the client finds the close frame behind what was buffered.
  ASSERT_TRUE(stalled->wait_for_end(10s));
  EXPECT_EQ(stalled->close_code(), close_slow_consumer) << stalled->end_reason();
  std::string last_cursor;
  while (auto message = stalled->next_message(0ms))
    if (message->contains("cursor")) last_cursor = (*message)["cursor"];
  ASSERT_FALSE(last_cursor.empty());
  EXPECT_TRUE(wait_until([&] { return stream_closes(*bridge, "slow_consumer") == 1; }, 10s))
      << bridge->scrape();

  // The reader is still served.
  publish(alice, "many-1", {{"status", "completed"}, {"seq", 2}});
  auto update = next_of_type(*reader, "job");
  ASSERT_TRUE(update);
  EXPECT_EQ((*update)["job"]["jobId"], "many-1");

  // Back with its cursor, now reading, it gets every job it missed and stays connected.
  auto back = open_websocket(port, token_for(alice), last_cursor);
  auto first = back->next_message(message_timeout);
  ASSERT_TRUE(first) << back->end_reason();
  std::set<std::string> missing;
  for (int job = 1; job <= distinct_jobs; ++job) missing.insert("many-" + std::to_string(job));
  // More missed changes than half the queue limit: a snapshot instead of a replay.
  ASSERT_EQ((*first)["type"], "snapshot") << shortened(*first);
  EXPECT_EQ((*first)["recovered"], false);
  for (const auto& job : (*first)["jobs"]) missing.erase(job.value("jobId", ""));
  EXPECT_TRUE(missing.empty()) << missing.size() << " jobs missing, first " << *missing.begin();
  EXPECT_FALSE(back->ended()) << "closed again: " << back->close_code().value_or(0) << " "
                              << back->end_reason();
  EXPECT_EQ(stream_closes(*bridge, "slow_consumer"), 1.0);
}

TEST_F(LiveStreams, SlowConsumerThatCatchesUpGetsConflatedLatestStatesAndEveryTerminalState) {
  // The stall limit is far longer than the stall below: this client must not be closed.
  auto bridge = start_bridge({"--stream-queue-limit", "16", "--stream-stall-timeout", "30s"});
  const auto port = bridge->port();
  const auto alice = user("alice");
  auto reader = open_websocket(port, token_for(alice));
  auto slow = open_websocket(port, token_for(alice), {}, small_receive_buffer());
  ASSERT_TRUE(next_of_type(*reader, "snapshot"));
  ASSERT_TRUE(next_of_type(*slow, "snapshot"));

  // One big job fills the slow client's buffers; small jobs change and finish meanwhile.
  std::map<std::string, json> final_states;
  int published = 0;
  const auto publish_and_follow = [&](const std::string& job_id, const json& state) {
    publish(alice, job_id, state);
    ++published;
    auto update = next_of_type(*reader, "job");
    ASSERT_TRUE(update) << job_id << " " << state.value("seq", 0);
    ASSERT_EQ((*update)["job"]["jobId"], job_id);
    ASSERT_EQ((*update)["job"]["seq"], state.value("seq", -1));
    final_states[job_id] = (*update)["job"];
  };
  for (int seq = 1; seq <= updates_beyond_socket_buffers; ++seq) {
    publish_and_follow("big", big_update(seq));
    if (seq % 20 == 0) publish_and_follow("small-a", {{"status", "in_progress"}, {"seq", seq}});
    if (seq % 25 == 0) publish_and_follow("small-b", {{"status", "in_progress"}, {"seq", seq}});
  }
  publish_and_follow("small-a", {{"status", "failed"}, {"seq", 1000}, {"error", {{"message", "boom"}}}});
  publish_and_follow("small-b", {{"status", "cancelled"}, {"seq", 1000}});
  publish_and_follow("big", big_update(updates_beyond_socket_buffers + 1, "completed"));
  if (HasFatalFailure()) return;

  // Catching up: every job's messages in order, ending with its final state.
  std::set<std::string> unfinished{"big", "small-a", "small-b"};
  auto caught_up = messages_until(
      *slow,
      [&](const json& m) {
        const auto job = m.value("job", json::object());
        const auto final_state = final_states.find(job.value("jobId", ""));
        if (final_state != final_states.end() && final_state->second == job)
          unfinished.erase(final_state->first);
        return unfinished.empty();
      },
      15s);
  ASSERT_TRUE(caught_up);
  expect_nothing_more(*slow);
  EXPECT_FALSE(slow->ended()) << slow->end_reason();
  std::map<std::string, int> last_seq;
  std::map<std::string, json> last_state;
  std::size_t job_messages = 0;
  for (auto& message : *caught_up) {
    ASSERT_EQ(message["type"], "job") << shortened(message);
    ++job_messages;
    const std::string job_id = message["job"]["jobId"];
    const int seq = message["job"]["seq"];
    EXPECT_GT(seq, last_seq[job_id]) << job_id;
    last_seq[job_id] = seq;
    last_state[job_id] = message["job"];
  }
  for (const auto& [job_id, state] : final_states) EXPECT_EQ(last_state[job_id], state) << job_id;
  EXPECT_LT(job_messages, static_cast<std::size_t>(published)) << "nothing was conflated";
  EXPECT_EQ(stream_closes(*bridge, "slow_consumer"), 0.0);
}

}  // namespace
}  // namespace progress::bridge
