#include "progress/publisher/job.hpp"

#include <gtest/gtest.h>

#include "progress/protocol/validation.hpp"
#include "publisher_fixture.hpp"

namespace progress::test {
namespace {

using namespace std::chrono_literals;
using job_payload_test = publisher_fixture;

TEST_F(job_payload_test, FirstUpdateCarriesTheFullStateRetainedAtQos1) {
  auto& pub = make_publisher();
  auto j = pub.job("alice", "j1", {.type = "token_launch"});
  j.start("Preparing").wait();

  ASSERT_EQ(transport_->sent_count(), 1u);
  const auto message = transport_->sent().at(0);
  EXPECT_EQ(message.topic, "users/alice/jobs/j1");
  EXPECT_EQ(message.qos, 1);
  EXPECT_TRUE(message.retain);
  const auto expected = nlohmann::json{{"userId", "alice"},
                                       {"jobId", "j1"},
                                       {"status", "started"},
                                       {"message", "Preparing"},
                                       {"type", "token_launch"},
                                       {"seq", 1},
                                       {"attempt", 1},
                                       {"workerId", "worker-1"},
                                       {"timestamp", manual_clock::start_unix_ms + 3'600'000}};
  EXPECT_EQ(sent_json(0), expected);
}

TEST_F(job_payload_test, EveryMessageIsTheWholeStateWithIncreasingSeq) {
  auto options = default_options();
  options.throttle_interval = 0ms;
  auto& pub = make_publisher(options);
  auto j = pub.job("alice", "j1");
  j.start();
  j.phase(1, 3, "Download", "Fetching files");
  j.progress(40, std::nullopt, "12 of 30 files");
  j.counter(5, 10, "Scanning");
  j.eta(1500ms);
  j.phase(2, 3, "Import");

  ASSERT_EQ(transport_->sent_count(), 6u);
  for (std::size_t i = 0; i < 6; ++i) {
    const auto payload = sent_json(i);
    EXPECT_EQ(payload.at("seq"), static_cast<std::int64_t>(i + 1)) << i;
    EXPECT_EQ(payload.at("userId"), "alice");
    EXPECT_EQ(payload.at("jobId"), "j1");
    EXPECT_EQ(payload.at("workerId"), "worker-1");
    // What the bridge will accept.
    EXPECT_TRUE(parse_update(job_key{"alice", "j1"}, transport_->sent().at(i).payload)) << i;
  }
  // Fields set earlier stay in later messages.
  const auto progress_update = sent_json(2);
  EXPECT_EQ(progress_update.at("status"), "in_progress");
  EXPECT_EQ(progress_update.at("phase"), 1);
  EXPECT_EQ(progress_update.at("phaseTitle"), "Download");
  EXPECT_EQ(progress_update.at("message"), "Fetching files");
  EXPECT_EQ(progress_update.at("detail"), "12 of 30 files");
  EXPECT_EQ(progress_update.at("progress"), 40.0);

  const auto counter_update = sent_json(3);
  EXPECT_EQ(counter_update.at("current"), 5);
  EXPECT_EQ(counter_update.at("total"), 10);
  EXPECT_EQ(counter_update.at("progress"), 50.0);
  EXPECT_EQ(counter_update.at("message"), "Scanning");

  EXPECT_EQ(sent_json(4).at("etaMs"), 1500);

  // A new phase drops the previous phase's message, detail and counter.
  const auto next_phase = sent_json(5);
  EXPECT_EQ(next_phase.at("phase"), 2);
  EXPECT_EQ(next_phase.at("phaseTitle"), "Import");
  EXPECT_EQ(next_phase.at("progress"), 50.0);
  EXPECT_EQ(next_phase.at("etaMs"), 1500);
  EXPECT_FALSE(next_phase.contains("message"));
  EXPECT_FALSE(next_phase.contains("detail"));
  EXPECT_FALSE(next_phase.contains("current"));
}

TEST_F(job_payload_test, TerminalStatesCarryTheirFields) {
  auto& pub = make_publisher();
  auto done = pub.job("alice", "done");
  done.eta(2s);
  done.complete({{"token", "PBX"}, {"supply", 1000000}});
  const auto completed = sent_json(1);
  EXPECT_EQ(completed.at("status"), "completed");
  EXPECT_EQ(completed.at("progress"), 100.0);
  EXPECT_EQ(completed.at("details"), (nlohmann::json{{"token", "PBX"}, {"supply", 1000000}}));
  EXPECT_FALSE(completed.contains("etaMs"));

  auto failed = pub.job("bob", "failed");
  failed.fail("Row 17: unknown column", "E_SCHEMA");
  EXPECT_EQ(sent_json(2).at("status"), "failed");
  EXPECT_EQ(sent_json(2).at("error"),
            (nlohmann::json{{"message", "Row 17: unknown column"}, {"code", "E_SCHEMA"}}));

  auto cancelled = pub.job("carol", "cancelled");
  cancelled.cancel("Stopped by the user");
  EXPECT_EQ(sent_json(3).at("status"), "cancelled");
  EXPECT_EQ(sent_json(3).at("message"), "Stopped by the user");
}

TEST_F(job_payload_test, ResumedJobStartsAtTheGivenSeqAndAttempt) {
  auto& pub = make_publisher();
  auto j = pub.job("alice", "j1", {.type = std::nullopt, .attempt = 2, .first_seq = 40});
  j.start();
  j.phase(1, 2, "Again");
  EXPECT_EQ(sent_json(0).at("seq"), 40);
  EXPECT_EQ(sent_json(0).at("attempt"), 2);
  EXPECT_EQ(sent_json(1).at("seq"), 41);
  EXPECT_EQ(j.state().seq, 41);
}

TEST_F(job_payload_test, AStallTimeTravelsWithEveryMessage) {
  auto options = default_options();
  options.throttle_interval = 0ms;
  auto& pub = make_publisher(options);
  auto j = pub.job("alice", "j1", {.type = std::nullopt, .stall_after = 90s});
  j.start();
  j.progress(50);
  job_state next;
  next.status = job_status::in_progress;
  j.update(next);
  j.complete();
  ASSERT_EQ(transport_->sent_count(), 4u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(sent_json(i).at("stallAfterMs"), 90000) << i;
  EXPECT_FALSE(sent_json(0).contains("etaMs"));
}

TEST_F(job_payload_test, RemoveClearsTheRetainedState) {
  auto& pub = make_publisher();
  auto j = pub.job("alice", "j1");
  j.complete();
  j.remove().wait();
  ASSERT_EQ(transport_->sent_count(), 2u);
  const auto removal = transport_->sent().at(1);
  EXPECT_EQ(removal.topic, "users/alice/jobs/j1");
  EXPECT_TRUE(removal.payload.empty());
  EXPECT_TRUE(removal.retain);
  EXPECT_EQ(removal.qos, 1);
}

TEST_F(job_payload_test, UpdateFillsInWhatTheCallerLeftOut) {
  auto& pub = make_publisher();
  auto j = pub.job("alice", "j1");
  job_state state;
  state.status = job_status::in_progress;
  state.progress = 12.5;
  j.update(state);
  state.seq = 10;
  state.worker_id = "other-worker";
  j.update(state);  // a new status was already sent: throttled, flushed below
  pub.flush();
  ASSERT_EQ(transport_->sent_count(), 2u);
  EXPECT_EQ(sent_json(0).at("seq"), 1);
  EXPECT_EQ(sent_json(0).at("workerId"), "worker-1");
  EXPECT_EQ(sent_json(1).at("seq"), 10);
  EXPECT_EQ(sent_json(1).at("workerId"), "other-worker");
}

TEST_F(job_payload_test, NewAttemptMayFollowATerminalState) {
  auto& pub = make_publisher();
  auto j = pub.job("alice", "j1");
  j.fail("Disk full");
  job_state retry;
  retry.status = job_status::started;
  retry.attempt = 2;
  j.update(retry);
  ASSERT_EQ(transport_->sent_count(), 2u);
  EXPECT_EQ(sent_json(1).at("attempt"), 2);
  EXPECT_EQ(sent_json(1).at("status"), "started");
}

}  // namespace
}  // namespace progress::test
