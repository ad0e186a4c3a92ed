// What every live stream does, whatever its transport: stream_session over a
// fake transport, on a real hub and store, one thread running the io_context.
#include "stream_session.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fake_stream_transport.hpp"
#include "job_fixtures.hpp"
#include "store_cursor.hpp"

namespace progress::bridge {
namespace {

using fixtures::state;

using namespace std::chrono_literals;
using fixtures::fake_stream_session;
using nlohmann::json;

principal alice(std::chrono::system_clock::duration valid_for = 1h) {
  return principal{"alice", false, std::chrono::system_clock::now() + valid_for};
}

class StreamSession : public ::testing::Test {
 protected:
  // The hub and a session it holds keep each other alive until the session detaches: sessions a
  // test leaves open end with the hub here, so nothing outlives the test (LeakSanitizer).
  void TearDown() override {
    hub_->shutdown();
    ioc_.poll();
  }

  std::shared_ptr<fake_stream_session> open(stream_options options = {}, std::size_t batch_limit = 1,
                                            stream_framing framing = stream_framing::websocket,
                                            std::optional<std::uint64_t> resume_after = std::nullopt,
                                            principal who = alice()) {
    const std::string cursor = resume_after ? store_cursor{store_.epoch(), *resume_after}.to_string() : "";
    auto session = std::make_shared<fake_stream_session>(net::make_strand(ioc_), hub_, metrics_, framing, who,
                                                         stream_scope{who.user_id, {}, {}}, resume_after,
                                                         cursor, options, batch_limit);
    session->open();
    ioc_.poll();
    return session;
  }

  void apply(const std::string& user, const std::string& job, job_status status, std::int64_t seq) {
    hub_->publish(store_.apply(job_key{user, job}, state(status, seq), 1000));
    ioc_.poll();
  }

  // The one message of the batch written last.
  static json last_message(const fake_stream_session& session) {
    EXPECT_FALSE(session.batches.empty());
    if (session.batches.empty() || session.batches.back().empty()) return {};
    return json::parse(session.batches.back().back());
  }

  double scraped(std::string_view name) {
    const auto text = metrics_.scrape();
    const auto at = text.find("\n" + std::string(name) + " ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
  }

  job_store store_{store_limits{.change_log_limit = 100}};
  metrics metrics_;
  net::io_context ioc_;
  // poll() and run_for() must not find the io_context out of work: that would stop it.
  net::executor_work_guard<net::io_context::executor_type> work_{ioc_.get_executor()};
  std::shared_ptr<stream_hub> hub_ = std::make_shared<stream_hub>(ioc_, store_);
};

TEST_F(StreamSession, StartsWithASnapshotOfItsScopeThenSendsEachLaterChange) {
  apply("alice", "a1", job_status::in_progress, 1);
  apply("bob", "b1", job_status::in_progress, 1);
  auto session = open();
  ASSERT_EQ(session->batches.size(), 1u);
  const auto snapshot = last_message(*session);
  EXPECT_EQ(snapshot["type"], "snapshot");
  ASSERT_EQ(snapshot["jobs"].size(), 1u);
  EXPECT_EQ(snapshot["jobs"][0]["jobId"], "a1");
  EXPECT_EQ(snapshot["cursor"], (store_cursor{store_.epoch(), 2}.to_string()));

  session->complete_write();
  apply("bob", "b1", job_status::completed, 2);
  apply("alice", "a1", job_status::completed, 2);
  ASSERT_EQ(session->batches.size(), 2u) << "bob's change is not alice's";
  const auto change = last_message(*session);
  EXPECT_EQ(change["type"], "job");
  EXPECT_EQ(change["job"]["status"], "completed");
  EXPECT_EQ(change["cursor"], (store_cursor{store_.epoch(), 4}.to_string()));
}

TEST_F(StreamSession, APongAskedBeforeTheSnapshotGoesOutAfterIt) {
  apply("alice", "a1", job_status::in_progress, 1);
  auto session = std::make_shared<fake_stream_session>(
      net::make_strand(ioc_), hub_, metrics_, stream_framing::websocket, alice(),
      stream_scope{"alice", {}, {}}, std::nullopt, "", stream_options{}, /*batch_limit=*/8);
  session->open();  // the hub's snapshot is on its way
  ASSERT_TRUE(session->send_own(wire::pong_message("1"), "pong"));
  EXPECT_TRUE(session->batches.empty()) << "a stream's first message is its snapshot";
  ioc_.poll();
  ASSERT_EQ(session->batches.size(), 1u);
  ASSERT_EQ(session->batches[0].size(), 2u);
  EXPECT_EQ(json::parse(session->batches[0][0])["type"], "snapshot");
  EXPECT_EQ(json::parse(session->batches[0][1])["type"], "pong");
  session->complete_write();
  ASSERT_TRUE(session->send_own(wire::pong_message("2"), "pong"));
  ASSERT_EQ(session->batches.size(), 2u) << "after the snapshot, at once";
  EXPECT_EQ(last_message(*session)["id"], 2);
}

TEST_F(StreamSession, OneWriteInFlightAndWhatWaitsGoesOutInOneBatch) {
  auto session = open({}, /*batch_limit=*/8);
  apply("alice", "a1", job_status::queued, 1);
  apply("alice", "a2", job_status::queued, 1);
  apply("alice", "a3", job_status::queued, 1);
  ASSERT_EQ(session->batches.size(), 1u) << "nothing is written while the snapshot is in flight";
  session->complete_write();
  ASSERT_EQ(session->batches.size(), 2u);
  EXPECT_EQ(session->batches.back().size(), 3u);
  session->complete_write();
  EXPECT_TRUE(session->idle());
}

TEST_F(StreamSession, WritesTheSocketTakesAtOnceLeaveBackToBackAndNeverStall) {
  auto session = open({.stall_timeout = 1s});
  apply("alice", "a1", job_status::queued, 1);
  apply("alice", "a2", job_status::queued, 1);
  session->complete_at_once = true;
  session->complete_write();  // the snapshot; then a1 and a2, each written at once
  ASSERT_EQ(session->batches.size(), 3u);
  EXPECT_TRUE(session->idle());
  apply("alice", "a3", job_status::queued, 1);
  ASSERT_EQ(session->batches.size(), 4u);
  EXPECT_EQ(last_message(*session)["job"]["jobId"], "a3");
  EXPECT_TRUE(session->idle());
  ioc_.run_for(1500ms);
  EXPECT_FALSE(session->closed_for) << "no write was in flight: nothing can stall";
}

TEST_F(StreamSession, PendingUpdatesOfAJobConflateButTerminalStatesAreKept) {
  auto session = open();
  for (int seq = 1; seq <= 5; ++seq) apply("alice", "a1", job_status::in_progress, seq);
  apply("alice", "a1", job_status::completed, 6);
  apply("alice", "a2", job_status::in_progress, 1);
  session->complete_write();  // the snapshot
  std::vector<json> sent;
  while (session->writing()) {
    sent.push_back(last_message(*session));
    session->complete_write();
  }
  ASSERT_EQ(sent.size(), 2u) << "a1's updates conflated into its final state, then a2";
  EXPECT_EQ(sent[0]["job"]["seq"], 6);
  EXPECT_EQ(sent[0]["job"]["status"], "completed");
  EXPECT_EQ(sent[1]["job"]["jobId"], "a2");
  EXPECT_EQ(scraped("progress_bridge_stream_messages_conflated_total"), 5);
}

TEST_F(StreamSession, AFullQueueEndsTheStreamAsASlowConsumer) {
  auto session = open({.queue_limit = 3});
  for (int j = 1; j <= 3; ++j) apply("alice", "a" + std::to_string(j), job_status::queued, 1);
  EXPECT_FALSE(session->closed_for);
  apply("alice", "a4", job_status::queued, 1);
  ASSERT_TRUE(session->closed_for);
  EXPECT_EQ(*session->closed_for, stream_end::slow_consumer);
}

TEST_F(StreamSession, AWriteStuckPastTheStallTimeoutEndsTheStream) {
  auto session = open({.stall_timeout = 1s});
  ioc_.run_for(1500ms);
  ASSERT_TRUE(session->closed_for);
  EXPECT_EQ(*session->closed_for, stream_end::slow_consumer);
}

TEST_F(StreamSession, ResumeReplaysEveryMissedChangeUnconflated) {
  apply("alice", "a1", job_status::in_progress, 1);  // revision 1
  apply("alice", "a1", job_status::in_progress, 2);  // 2
  apply("alice", "a1", job_status::completed, 3);    // 3
  auto session = open({}, /*batch_limit=*/8, stream_framing::websocket, /*resume_after=*/1);
  ASSERT_EQ(session->batches.size(), 1u);
  EXPECT_EQ(json::parse(session->batches[0][0])["type"], "resume");
  EXPECT_EQ(json::parse(session->batches[0][0])["recovered"], true);
  session->complete_write();
  ASSERT_EQ(session->batches.size(), 2u);
  ASSERT_EQ(session->batches[1].size(), 2u);
  EXPECT_EQ(json::parse(session->batches[1][0])["job"]["seq"], 2);
  EXPECT_EQ(json::parse(session->batches[1][1])["job"]["seq"], 3);
}

TEST_F(StreamSession, AStateResumeSendsOnlyWhatDiffersThenEveryLaterChange) {
  apply("alice", "same", job_status::in_progress, 4);  // revision 1
  apply("alice", "moved", job_status::completed, 9);   // 2
  auto session = std::make_shared<fixtures::fake_stream_session>(
      net::make_strand(ioc_), hub_, metrics_, stream_framing::websocket, alice(),
      stream_scope{"alice", {}, {}}, std::nullopt, "", stream_options{});
  const auto holds = [](const std::string& job, job_status status, std::int64_t seq) {
    held_job held;
    held.key = job_key{"alice", job};
    held.status = status;
    held.seq = seq;
    held.attempt = 1;
    return held;
  };
  session->open_holding({holds("same", job_status::in_progress, 4),
                         holds("moved", job_status::in_progress, 8), holds("gone", job_status::queued, 1)});
  ioc_.poll();
  ASSERT_EQ(session->batches.size(), 1u);
  const auto start = last_message(*session);
  EXPECT_EQ(start["type"], "snapshot");
  EXPECT_EQ(start["recovery"], "state");
  ASSERT_EQ(start["jobs"].size(), 1u);
  EXPECT_EQ(start["jobs"][0]["jobId"], "moved");
  EXPECT_EQ(start["removed"], json::parse(R"([{"userId":"alice","jobId":"gone"}])"));
  EXPECT_EQ(start["unchanged"], 1);
  EXPECT_EQ(start["cursor"], (store_cursor{store_.epoch(), 2}.to_string()));

  session->complete_write();
  apply("alice", "same", job_status::completed, 5);  // 3
  ASSERT_EQ(session->batches.size(), 2u);
  EXPECT_EQ(last_message(*session)["job"]["seq"], 5);

  // A cursor this bridge covers wins over the versions held: every missed change.
  auto resumed = std::make_shared<fixtures::fake_stream_session>(
      net::make_strand(ioc_), hub_, metrics_, stream_framing::websocket, alice(),
      stream_scope{"alice", {}, {}}, 2, store_cursor{store_.epoch(), 2}.to_string(), stream_options{});
  resumed->open_holding({holds("same", job_status::in_progress, 4)});
  ioc_.poll();
  ASSERT_EQ(resumed->batches.size(), 1u);
  EXPECT_EQ(last_message(*resumed)["type"], "resume");
}

TEST_F(StreamSession, SseFramesEveryMessageAsAnEventWithItsCursor) {
  auto session = open({}, 64, stream_framing::sse);
  const auto& snapshot = session->batches.at(0).at(0);
  const auto cursor = store_cursor{store_.epoch(), 0}.to_string();
  EXPECT_TRUE(snapshot.starts_with("event: snapshot\nid: " + cursor + "\ndata: {\"type\":\"snapshot\""))
      << snapshot;
  EXPECT_TRUE(snapshot.ends_with("}\n\n"));
}

TEST_F(StreamSession, SubscribeSwitchesTheScopeWithAFreshSnapshot) {
  apply("alice", "a1", job_status::queued, 1);
  apply("alice", "a2", job_status::queued, 1);
  auto session = open();
  session->complete_write();
  session->subscribe(stream_scope{"alice", {"a2"}, {}});
  ioc_.poll();
  const auto snapshot = last_message(*session);
  EXPECT_EQ(snapshot["type"], "snapshot");
  ASSERT_EQ(snapshot["jobs"].size(), 1u);
  EXPECT_EQ(snapshot["jobs"][0]["jobId"], "a2");
  session->complete_write();
  apply("alice", "a1", job_status::completed, 2);
  EXPECT_FALSE(session->writing()) << "a1 is outside the new scope";
}

TEST_F(StreamSession, EndsWhenItsTokenExpiresOrTheBridgeShutsDown) {
  auto expired = open({.token_leeway = 0s}, 1, stream_framing::websocket, std::nullopt, alice(-1s));
  ioc_.poll();
  ASSERT_TRUE(expired->closed_for);
  EXPECT_EQ(*expired->closed_for, stream_end::token_expired);

  auto open_stream = open();
  hub_->shutdown();
  ioc_.poll();
  ASSERT_TRUE(open_stream->closed_for);
  EXPECT_EQ(*open_stream->closed_for, stream_end::shutdown);
}

TEST_F(StreamSession, AFailedWriteEndsTheStreamAsAnError) {
  auto session = open();
  session->complete_write(net::error::connection_reset);
  ASSERT_TRUE(session->closed_for);
  EXPECT_EQ(*session->closed_for, stream_end::error);
}

}  // namespace
}  // namespace progress::bridge

namespace progress::bridge {
namespace {

using fixtures::fake_stream_session;
using fixtures::state;
using nlohmann::json;
using namespace std::chrono_literals;

// The revision a message's cursor names.
std::uint64_t revision_of(const json& message) {
  const auto cursor = message["cursor"].get<std::string>();
  return std::stoull(cursor.substr(cursor.find('.') + 1));
}

TEST_F(StreamSession, ASubscribeReplacesASnapshotThatWaitsUnsent) {
  for (const char* job : {"a1", "a2", "a3"}) apply("alice", job, job_status::queued, 1);
  auto session = open();  // its first snapshot is being written
  session->subscribe(stream_scope{"alice", {"a1"}, {}});
  ioc_.poll();
  session->subscribe(stream_scope{"alice", {"a2"}, {}});
  ioc_.poll();
  session->complete_write();
  ASSERT_EQ(session->batches.size(), 2u);
  const auto snapshot = last_message(*session);
  EXPECT_EQ(snapshot["type"], "snapshot");
  ASSERT_EQ(snapshot["jobs"].size(), 1u);
  EXPECT_EQ(snapshot["jobs"][0]["jobId"], "a2") << "the newer subscribe's snapshot, and only it";
  session->complete_write();
  EXPECT_TRUE(session->idle());
}

TEST_F(StreamSession, SubscribesWhileASnapshotIsAskedForAreAnsweredOnceWithTheLast) {
  for (const char* job : {"a1", "a2", "a3"}) apply("alice", job, job_status::queued, 1);
  auto session = open();
  session->complete_write();
  for (const char* job : {"a1", "a2", "a3"}) session->subscribe(stream_scope{"alice", {job}, {}});
  ioc_.poll();
  ASSERT_EQ(session->batches.size(), 2u);
  const auto snapshot = last_message(*session);
  ASSERT_EQ(snapshot["jobs"].size(), 1u);
  EXPECT_EQ(snapshot["jobs"][0]["jobId"], "a3");
  session->complete_write();
  EXPECT_TRUE(session->idle());
}

TEST_F(StreamSession, ASubscribeBeforeTheFirstStartIsAnsweredWithASnapshotOfItsScopeOnly) {
  apply("alice", "a1", job_status::queued, 1);  // revision 1
  apply("alice", "a2", job_status::queued, 1);  // 2
  const principal who{"alice", false, std::chrono::system_clock::now() + 1h};
  auto session = std::make_shared<fake_stream_session>(
      net::make_strand(ioc_), hub_, metrics_, stream_framing::websocket, who, stream_scope{"alice", {}, {}},
      1, store_cursor{store_.epoch(), 1}.to_string(), stream_options{});
  session->open();  // asks for a resume after revision 1
  session->subscribe(stream_scope{"alice", {"a1"}, {}});
  ioc_.poll();
  ASSERT_EQ(session->batches.size(), 1u);
  const auto first = last_message(*session);
  EXPECT_EQ(first["type"], "snapshot") << "the resume was asked for a scope the client has left";
  ASSERT_EQ(first["jobs"].size(), 1u);
  EXPECT_EQ(first["jobs"][0]["jobId"], "a1");
  session->complete_write();
  EXPECT_TRUE(session->idle());
}

TEST_F(StreamSession, ChangesAroundReplacedSnapshotsAreNeitherLostNorSentBackwards) {
  auto session = open();
  const std::vector<stream_scope> scopes{stream_scope{"alice", {}, {}},
                                         stream_scope{"alice", {"a1", "a2"}, {}},
                                         stream_scope{"alice", {"a3"}, {}}};
  std::int64_t seq = 0;
  for (int round = 0; round < 60; ++round) {
    apply("alice", "a" + std::to_string(round % 4), job_status::in_progress, ++seq);
    if (round % 3 == 0) session->subscribe(scopes[static_cast<std::size_t>(round / 3) % scopes.size()]);
    if (round % 5 == 0) ioc_.poll();
    if (round % 2 == 0 && session->writing()) session->complete_write();
  }
  session->subscribe(stream_scope{"alice", {}, {}});
  ioc_.poll();
  apply("alice", "a1", job_status::completed, ++seq);
  while (session->writing()) session->complete_write();
  ASSERT_FALSE(session->closed_for);

  // The client's view, rebuilt from what it received, is the store's latest state.
  std::map<std::string, std::int64_t> view;
  std::uint64_t last_revision = 0;
  for (const auto& batch : session->batches) {
    for (const auto& text : batch) {
      const auto message = json::parse(text);
      ASSERT_TRUE(message.contains("cursor")) << text.substr(0, 80);
      const auto revision = revision_of(message);
      EXPECT_GE(revision, last_revision) << "a cursor went backwards: " << text.substr(0, 80);
      last_revision = std::max(last_revision, revision);
      if (message["type"] == "snapshot") {
        view.clear();
        for (const auto& job : message["jobs"]) view[job["jobId"]] = job["seq"];
      } else if (message["type"] == "job") {
        view[message["job"]["jobId"]] = message["job"]["seq"];
      }
    }
  }
  std::map<std::string, std::int64_t> latest;
  for (const auto& job : store_.snapshot(std::string{"alice"}).jobs)
    latest[job->key.job_id] = job->facts.seq.value_or(-1);
  EXPECT_EQ(view, latest);
}

TEST_F(StreamSession, ChangesPastTheByteBudgetEndTheStreamOverBudget) {
  auto session = open({.queue_bytes = 1000});  // its snapshot is being written, never completed
  for (int job = 1; job <= 20 && !session->closed_for; ++job)
    apply("alice", "a" + std::to_string(job), job_status::queued, 1);
  ASSERT_TRUE(session->closed_for);
  EXPECT_EQ(*session->closed_for, stream_end::over_budget);
  session.reset();
  ioc_.poll();
  EXPECT_NE(metrics_.scrape().find(
                R"(progress_bridge_streams_closed_total{reason="over_budget",transport="websocket"} 1)"),
            std::string::npos);
}

TEST_F(StreamSession, ASnapshotBiggerThanTheBudgetIsStillSentWhole) {
  for (int job = 1; job <= 40; ++job) apply("alice", "a" + std::to_string(job), job_status::queued, 1);
  auto session = open({.queue_bytes = 1000});
  ASSERT_EQ(session->batches.size(), 1u);
  EXPECT_GT(session->batches[0][0].size(), 2000u);
  EXPECT_EQ(last_message(*session)["jobs"].size(), 40u);
  session->complete_write();
  apply("alice", "a1", job_status::completed, 2);
  EXPECT_FALSE(session->closed_for);
  ASSERT_EQ(session->batches.size(), 2u);
}

}  // namespace
}  // namespace progress::bridge
