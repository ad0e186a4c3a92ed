#include "progress/protocol/update_order.hpp"

#include <gtest/gtest.h>

using namespace progress;

namespace {

job_state make(job_status status, std::optional<std::int64_t> seq, std::optional<std::int64_t> attempt = {}) {
  job_state state;
  state.status = status;
  state.seq = seq;
  state.attempt = attempt;
  return state;
}

}  // namespace

TEST(update_order, first_state_is_accepted) {
  EXPECT_EQ(decide_update(nullptr, make(job_status::queued, 1)), update_decision::accept);
}

TEST(update_order, seq_orders_updates_of_one_attempt) {
  const auto current = make(job_status::in_progress, 5);
  EXPECT_EQ(decide_update(&current, make(job_status::in_progress, 6)), update_decision::accept);
  EXPECT_EQ(decide_update(&current, make(job_status::in_progress, 5)), update_decision::duplicate);
  EXPECT_EQ(decide_update(&current, make(job_status::in_progress, 4)), update_decision::stale);
}

TEST(update_order, terminal_state_is_final_within_an_attempt) {
  const auto done = make(job_status::completed, 9, 1);
  EXPECT_EQ(decide_update(&done, make(job_status::in_progress, 10, 1)), update_decision::after_terminal);
  EXPECT_EQ(decide_update(&done, make(job_status::failed, 10, 1)), update_decision::after_terminal);
  EXPECT_EQ(decide_update(&done, make(job_status::completed, 9, 1)), update_decision::duplicate);
  EXPECT_EQ(decide_update(&done, make(job_status::queued, 1, 2)), update_decision::new_attempt);
}

TEST(update_order, attempts_start_over_and_old_attempts_are_stale) {
  const auto second = make(job_status::in_progress, 3, 2);
  EXPECT_EQ(decide_update(&second, make(job_status::in_progress, 50, 1)), update_decision::stale);
  EXPECT_EQ(decide_update(&second, make(job_status::started, 1, 3)), update_decision::new_attempt);
  // A missing attempt counts as attempt 0.
  EXPECT_EQ(decide_update(&second, make(job_status::in_progress, 99)), update_decision::stale);
}

TEST(update_order, timestamps_order_updates_without_seq) {
  auto current = make(job_status::in_progress, std::nullopt);
  current.timestamp = 2000;
  auto older = make(job_status::in_progress, std::nullopt);
  older.timestamp = 1000;
  auto newer = older;
  newer.timestamp = 3000;
  EXPECT_EQ(decide_update(&current, older), update_decision::stale);
  EXPECT_EQ(decide_update(&current, newer), update_decision::accept);
  EXPECT_EQ(decide_update(&current, make(job_status::in_progress, std::nullopt)), update_decision::accept);
}
