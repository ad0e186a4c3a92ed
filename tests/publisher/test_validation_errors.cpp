#include "progress/publisher/validation_error.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "publisher_fixture.hpp"

namespace progress::test {
namespace {

using namespace std::chrono_literals;
using validation_test = publisher_fixture;

static_assert(std::is_base_of_v<std::invalid_argument, validation_error>);

// `call` must throw validation_error about `field` and send nothing.
template <typename Call>
void expect_refused(const fake_transport& transport, const std::string& field, Call&& call) {
  const auto before = transport.sent_count();
  try {
    call();
    ADD_FAILURE() << "no validation_error for " << field;
  } catch (const validation_error& e) {
    EXPECT_EQ(e.reason().field, field) << e.what();
  }
  EXPECT_EQ(transport.sent_count(), before) << field;
}

TEST_F(validation_test, AStallTimeOutOfRangeIsRefusedBeforeAnyHandleExists) {
  auto& pub = make_publisher();
  for (const auto bad : {std::chrono::milliseconds{999}, std::chrono::milliseconds{604'800'001}}) {
    expect_refused(*transport_, "stallAfterMs",
                   [&] { (void)pub.job("alice", "j1", {.type = std::nullopt, .stall_after = bad}); });
  }
}

TEST_F(validation_test, BadIdsAreRefusedBeforeAnyHandleExists) {
  auto& pub = make_publisher();
  for (const std::string& bad :
       std::vector<std::string>{"", "a/b", "+", "#", "with space", std::string(129, 'a')}) {
    expect_refused(*transport_, "userId", [&] { (void)pub.job(bad, "j1"); });
    expect_refused(*transport_, "jobId", [&] { (void)pub.job("alice", bad); });
  }
  expect_refused(*transport_, "type", [&] { (void)pub.job("alice", "j1", {.type = "bad type"}); });
  expect_refused(*transport_, "seq", [&] {
    (void)pub.job("alice", "j1", {.type = std::nullopt, .attempt = 1, .first_seq = -1});
  });
  EXPECT_EQ(transport_->sent_count(), 0u);
}

TEST_F(validation_test, BadWorkerIdIsRefusedBeforeConnecting) {
  auto options = default_options();
  options.worker_id = "worker/1";
  EXPECT_THROW(make_publisher(options), validation_error);
  EXPECT_EQ(transport_->connects(), 0);
}

TEST_F(validation_test, OutOfRangeValuesAreRefusedAndNothingIsSent) {
  auto& pub = make_publisher();
  auto j = pub.job("alice", "j1");
  j.start();
  expect_refused(*transport_, "progress", [&] { j.progress(120); });
  expect_refused(*transport_, "progress", [&] { j.progress(-1); });
  expect_refused(*transport_, "progress", [&] { j.progress(std::numeric_limits<double>::quiet_NaN()); });
  expect_refused(*transport_, "phase", [&] { j.phase(3, 2, "Too far"); });
  expect_refused(*transport_, "totalPhases", [&] { j.phase(1, 0, "No phases"); });
  expect_refused(*transport_, "current", [&] { j.counter(-1, 10); });
  expect_refused(*transport_, "etaMs", [&] { j.eta(-5ms); });
  expect_refused(*transport_, "message", [&] { j.progress(10, std::string(5000, 'x')); });
  expect_refused(*transport_, "message", [&] { j.progress(10, std::string("\xC3\x28")); });
  expect_refused(*transport_, "error.message", [&] { j.fail(""); });
  expect_refused(*transport_, "details", [&] { j.complete(nlohmann::json::array({1, 2})); });

  // The refused calls left no trace: the next update follows the start.
  j.phase(1, 2, "Fine").wait();
  EXPECT_EQ(sent_json(1).at("seq"), 2);
  EXPECT_FALSE(sent_json(1).contains("progress"));
}

TEST_F(validation_test, PayloadsTheBridgeWouldRejectAreRefused) {
  auto& pub = make_publisher();
  auto j = pub.job("alice", "j1");
  nlohmann::json deep = nlohmann::json::object();
  for (int i = 0; i < 20; ++i) deep = nlohmann::json{{"level", deep}};
  expect_refused(*transport_, "", [&] { j.complete(deep); });

  nlohmann::json big = nlohmann::json::object();
  for (int i = 0; i < 20; ++i) big["part" + std::to_string(i)] = std::string(4000, 'x');
  try {
    j.complete(big);
    ADD_FAILURE() << "oversized payload accepted";
  } catch (const validation_error& e) {
    EXPECT_EQ(e.reason().reason, reject_reason::oversize);
  }
  expect_refused(*transport_, "details", [&] { j.complete({{"name", std::string("\xFF")}}); });
  EXPECT_EQ(transport_->sent_count(), 0u);
}

TEST_F(validation_test, NothingFollowsATerminalStateOrARemoval) {
  auto& pub = make_publisher();
  auto j = pub.job("alice", "j1");
  j.complete();
  expect_refused(*transport_, "status", [&] { j.progress(50); });
  expect_refused(*transport_, "status", [&] { j.fail("late"); });
  j.remove();
  expect_refused(*transport_, "", [&] { j.start(); });
  expect_refused(*transport_, "", [&] { j.remove(); });
}

TEST_F(validation_test, UpdateMustAgreeWithTheHandle) {
  auto& pub = make_publisher();
  auto j = pub.job("alice", "j1");
  job_state other_user;
  other_user.user_id = "bob";
  expect_refused(*transport_, "userId", [&] { j.update(other_user); });
  j.start();
  job_state old_seq;
  old_seq.status = job_status::in_progress;
  old_seq.seq = 1;
  expect_refused(*transport_, "seq", [&] { j.update(old_seq); });
  job_state old_attempt;
  old_attempt.attempt = 0;
  expect_refused(*transport_, "attempt", [&] { j.update(old_attempt); });
}

}  // namespace
}  // namespace progress::test
