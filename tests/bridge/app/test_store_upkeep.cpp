#include "store_upkeep.hpp"

#include <chrono>
#include <vector>

#include <gtest/gtest.h>

#include "job_fixtures.hpp"
#include "unix_time.hpp"

namespace progress::bridge {
namespace {

using fixtures::state;

using namespace std::chrono_literals;

class StoreUpkeep : public ::testing::Test {
 protected:
  std::shared_ptr<store_upkeep> start(std::chrono::milliseconds interval) {
    auto upkeep = std::make_shared<store_upkeep>(
        net::make_strand(ioc_), store_, metrics_, [this](const apply_result& r) { removals_.push_back(r); },
        interval);
    upkeep->start();
    return upkeep;
  }

  job_store store_{store_limits{.finished_ttl = 1s}};
  metrics metrics_;
  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_{ioc_.get_executor()};
  std::vector<apply_result> removals_;
};

TEST_F(StoreUpkeep, RemovesFinishedJobsPastTheirTtlAndReportsEachRemoval) {
  const auto long_ago = unix_ms_now() - 5000;
  store_.apply(job_key{"alice", "done"}, state(job_status::completed, 1), long_ago);
  store_.apply(job_key{"alice", "running"}, state(job_status::in_progress, 1), long_ago);
  store_.apply(job_key{"alice", "fresh"}, state(job_status::failed, 1), unix_ms_now());
  auto upkeep = start(50ms);
  ioc_.run_for(200ms);
  ASSERT_EQ(removals_.size(), 1u);
  EXPECT_EQ(removals_[0].outcome, apply_outcome::removed);
  EXPECT_EQ(removals_[0].key.job_id, "done");
  EXPECT_GT(removals_[0].revision, 0u);
  EXPECT_FALSE(store_.find(job_key{"alice", "done"}));
  EXPECT_TRUE(store_.find(job_key{"alice", "running"})) << "active jobs never expire";
  EXPECT_TRUE(store_.find(job_key{"alice", "fresh"}));
  upkeep->stop();
  ioc_.run_for(100ms);
}

TEST_F(StoreUpkeep, JobGaugesAreCurrentAtEveryScrape) {
  auto upkeep = start(1h);
  store_.apply(job_key{"alice", "a"}, state(job_status::in_progress, 1), unix_ms_now());
  store_.apply(job_key{"bob", "b"}, state(job_status::in_progress, 1), unix_ms_now());
  EXPECT_NE(metrics_.scrape().find("progress_bridge_jobs{status=\"in_progress\"} 2"), std::string::npos);
  store_.apply(job_key{"bob", "b"}, state(job_status::failed, 2), unix_ms_now());
  const auto text = metrics_.scrape();
  EXPECT_NE(text.find("progress_bridge_jobs{status=\"in_progress\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("progress_bridge_jobs{status=\"failed\"} 1"), std::string::npos);
  upkeep->stop();
  ioc_.poll();
}

}  // namespace
}  // namespace progress::bridge
