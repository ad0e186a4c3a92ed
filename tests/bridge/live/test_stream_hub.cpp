#include "stream_hub.hpp"

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "job_fixtures.hpp"

namespace progress::bridge {
namespace {

using namespace std::chrono_literals;
using fixtures::state;

// Records what the hub tells it; safe to read from the test thread.
class recording_subscriber : public stream_subscriber {
 public:
  void on_start(std::shared_ptr<const stream_start> start) override {
    std::lock_guard lock{mutex_};
    starts_.push_back(std::move(start));
    changed_.notify_all();
  }
  void on_event(const std::shared_ptr<const stream_event>& event) override {
    std::lock_guard lock{mutex_};
    events_.push_back(event);
    changed_.notify_all();
  }
  void on_shutdown() override {
    std::lock_guard lock{mutex_};
    shutdowns_++;
    changed_.notify_all();
  }

  template <typename Condition>
  bool wait(Condition condition) {
    std::unique_lock lock{mutex_};
    return changed_.wait_for(lock, 5s, [&] { return condition(*this); });
  }
  std::vector<std::shared_ptr<const stream_start>> starts() {
    std::lock_guard lock{mutex_};
    return starts_;
  }
  std::vector<std::shared_ptr<const stream_event>> events() {
    std::lock_guard lock{mutex_};
    return events_;
  }

  std::vector<std::shared_ptr<const stream_start>> starts_;
  std::vector<std::shared_ptr<const stream_event>> events_;
  int shutdowns_ = 0;

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
};

class StreamHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_ = std::make_shared<stream_hub>(ioc_, store_,
                                        stream_hub_options{.snapshot_limit = 100, .resume_limit = 4});
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    work_.reset();
    thread_.join();
  }

  void apply(const std::string& user, const std::string& job, job_status status, std::int64_t seq) {
    hub_->publish(store_.apply(job_key{user, job}, state(status, seq), 1000));
  }

  job_store store_{store_limits{.change_log_limit = 100}};
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{ioc_.get_executor()};
  std::shared_ptr<stream_hub> hub_;
  std::thread thread_;
};

TEST_F(StreamHubTest, SnapshotThenOnlyTheFollowedUsersChanges) {
  apply("alice", "a1", job_status::in_progress, 1);
  apply("bob", "b1", job_status::in_progress, 1);
  auto alice = std::make_shared<recording_subscriber>();
  hub_->attach(alice, std::string("alice"), std::nullopt);
  ASSERT_TRUE(alice->wait([](auto& s) { return s.starts_.size() == 1; }));
  const auto start = alice->starts().front();
  EXPECT_FALSE(start->resumed);
  ASSERT_EQ(start->jobs.size(), 1u);
  EXPECT_EQ(start->jobs.front()->key.job_id, "a1");
  EXPECT_EQ(start->revision, 2u);

  apply("bob", "b1", job_status::completed, 2);
  apply("alice", "a1", job_status::completed, 2);
  ASSERT_TRUE(alice->wait([](auto& s) { return !s.events_.empty(); }));
  const auto events = alice->events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events.front()->key.job_id, "a1");
  EXPECT_TRUE(events.front()->keep);
  hub_->detach(alice);
}

TEST_F(StreamHubTest, ResumeReplaysChangesAfterTheCursorOrFallsBackToASnapshot) {
  apply("alice", "a1", job_status::in_progress, 1);  // revision 1
  apply("alice", "a1", job_status::in_progress, 2);  // 2
  apply("bob", "b1", job_status::queued, 1);         // 3
  apply("alice", "a2", job_status::failed, 1);       // 4
  auto resumed = std::make_shared<recording_subscriber>();
  hub_->attach(resumed, std::string("alice"), 1);
  ASSERT_TRUE(resumed->wait([](auto& s) { return s.starts_.size() == 1; }));
  const auto start = resumed->starts().front();
  ASSERT_TRUE(start->resumed);
  ASSERT_EQ(start->changes.size(), 2u);  // bob's change is not alice's
  EXPECT_EQ(start->changes[0]->revision, 2u);
  EXPECT_EQ(start->changes[1]->revision, 4u);
  EXPECT_EQ(start->revision, 4u);

  // Five of alice's changes since revision 0 exceed the resume limit of four: a snapshot instead.
  apply("alice", "a3", job_status::queued, 1);
  apply("alice", "a3", job_status::in_progress, 2);
  auto behind = std::make_shared<recording_subscriber>();
  hub_->attach(behind, std::string("alice"), 0);
  ASSERT_TRUE(behind->wait([](auto& s) { return s.starts_.size() == 1; }));
  EXPECT_FALSE(behind->starts().front()->resumed);
  EXPECT_EQ(behind->starts().front()->jobs.size(), 3u);

  // A revision ahead of the store is no cursor of ours either.
  auto ahead = std::make_shared<recording_subscriber>();
  hub_->attach(ahead, std::string("alice"), 999);
  ASSERT_TRUE(ahead->wait([](auto& s) { return s.starts_.size() == 1; }));
  EXPECT_FALSE(ahead->starts().front()->resumed);
  for (const auto& s : {resumed, behind, ahead}) hub_->detach(s);
}

TEST_F(StreamHubTest, AResumeBiggerThanItsByteBoundIsASnapshotInstead) {
  hub_ = std::make_shared<stream_hub>(ioc_, store_,
                                      stream_hub_options{.resume_limit = 100, .resume_bytes = 600});
  apply("alice", "a1", job_status::in_progress, 1);  // revision 1
  apply("alice", "a1", job_status::in_progress, 2);
  auto small = std::make_shared<recording_subscriber>();
  hub_->attach(small, std::string("alice"), 1);
  ASSERT_TRUE(small->wait([](auto& s) { return s.starts_.size() == 1; }));
  ASSERT_TRUE(small->starts().front()->resumed);

  for (std::int64_t seq = 3; seq <= 12; ++seq) apply("alice", "a1", job_status::in_progress, seq);
  auto big = std::make_shared<recording_subscriber>();
  hub_->attach(big, std::string("alice"), 1);
  ASSERT_TRUE(big->wait([](auto& s) { return s.starts_.size() == 1; }));
  EXPECT_FALSE(big->starts().front()->resumed) << "eleven changes of this job are more than 600 bytes";
  EXPECT_EQ(big->starts().front()->jobs.size(), 1u);
  for (const auto& stream : {small, big}) hub_->detach(stream);
}

TEST_F(StreamHubTest, SnapshotIsCutToTheLimitAndFlagged) {
  for (int i = 0; i < 5; ++i) apply("u" + std::to_string(i), "j", job_status::queued, 1);
  auto small = std::make_shared<stream_hub>(ioc_, store_, stream_hub_options{.snapshot_limit = 3});
  auto admin = std::make_shared<recording_subscriber>();
  small->attach(admin, std::nullopt, std::nullopt);
  ASSERT_TRUE(admin->wait([](auto& s) { return s.starts_.size() == 1; }));
  const auto start = admin->starts().front();
  EXPECT_EQ(start->jobs.size(), 3u);
  EXPECT_TRUE(start->truncated);
  EXPECT_EQ(start->jobs.front()->key.user_id, "u4");  // newest first
  small->publish(store_.apply(job_key{"u0", "j"}, state(job_status::completed, 2), 1000));
  ASSERT_TRUE(admin->wait([](auto& s) { return !s.events_.empty(); }));
  small->detach(admin);
}

TEST_F(StreamHubTest, RescopeMovesTheStreamAndSendsAFreshSnapshot) {
  apply("alice", "a1", job_status::queued, 1);
  apply("bob", "b1", job_status::queued, 1);
  auto stream = std::make_shared<recording_subscriber>();
  hub_->attach(stream, std::string("alice"), std::nullopt);
  hub_->rescope(stream, std::string("bob"));
  ASSERT_TRUE(stream->wait([](auto& s) { return s.starts_.size() == 2; }));
  EXPECT_EQ(stream->starts()[1]->jobs.front()->key.user_id, "bob");
  apply("alice", "a1", job_status::completed, 2);
  apply("bob", "b1", job_status::completed, 2);
  ASSERT_TRUE(stream->wait([](auto& s) { return !s.events_.empty(); }));
  std::this_thread::sleep_for(50ms);  // give a wrongly routed event the time to show up
  const auto events = stream->events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events.front()->key.user_id, "bob");
  hub_->detach(stream);
}

TEST_F(StreamHubTest, DetachedStreamsGetNothingAndShutdownReachesEveryone) {
  auto gone = std::make_shared<recording_subscriber>();
  auto staying = std::make_shared<recording_subscriber>();
  hub_->attach(gone, std::string("alice"), std::nullopt);
  hub_->attach(staying, std::string("alice"), std::nullopt);
  hub_->detach(gone);
  apply("alice", "a1", job_status::queued, 1);
  ASSERT_TRUE(staying->wait([](auto& s) { return !s.events_.empty(); }));
  EXPECT_TRUE(gone->events().empty());

  hub_->shutdown();
  ASSERT_TRUE(staying->wait([](auto& s) { return s.shutdowns_ == 1; }));
  auto late = std::make_shared<recording_subscriber>();
  hub_->attach(late, std::string("alice"), std::nullopt);
  ASSERT_TRUE(late->wait([](auto& s) { return s.shutdowns_ == 1; }));
  EXPECT_TRUE(late->starts().empty());
  hub_->detach(staying);
}

// A stream attached while updates pour in sees each job's final state, either
// in its start or as an event after it: the consistency rule of stream_hub.hpp.
TEST_F(StreamHubTest, AttachDuringUpdatesMissesNoFinalState) {
  constexpr int jobs = 20;
  constexpr int updates = 50;
  std::thread writer([&] {
    for (int seq = 1; seq <= updates; ++seq) {
      for (int j = 0; j < jobs; ++j) {
        apply("alice", "j" + std::to_string(j),
              seq == updates ? job_status::completed : job_status::in_progress, seq);
      }
    }
  });
  std::this_thread::sleep_for(1ms);
  auto stream = std::make_shared<recording_subscriber>();
  hub_->attach(stream, std::string("alice"), std::nullopt);
  writer.join();
  const auto final_revision = store_.revision();
  ASSERT_TRUE(stream->wait([&](auto& s) {
    if (s.starts_.empty()) return false;
    const auto last = s.events_.empty() ? s.starts_.front()->revision : s.events_.back()->revision;
    return last == final_revision;
  }));
  const auto start = stream->starts().front();
  std::map<std::string, std::int64_t> seen;  // job -> latest seq the stream knows
  for (const auto& job : start->jobs) seen[job->key.job_id] = *job->state.seq;
  std::uint64_t previous = start->revision;
  for (const auto& event : stream->events()) {
    if (event->revision <= start->revision) continue;  // in the start already: sessions drop these
    EXPECT_GT(event->revision, previous);
    previous = event->revision;
    seen[event->key.job_id] = *event->job->state.seq;
  }
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(jobs))
      << "start at " << start->revision << " with " << start->jobs.size() << " jobs, "
      << stream->events().size() << " events, final " << final_revision;
  for (const auto& [job, seq] : seen) EXPECT_EQ(seq, updates) << job;
  hub_->detach(stream);
}

}  // namespace
}  // namespace progress::bridge
