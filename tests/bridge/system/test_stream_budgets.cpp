// Per-connection memory budgets (docs/protocol.md, "Flow control"): clients
// that ask for snapshots and never read cost the bridge a bounded amount of
// memory, and are closed with 4009 when what they hold passes the budget.
#include <algorithm>
#include <cstddef>
#include <iostream>
#include <thread>

#include "live_stream_fixture.hpp"

namespace progress::bridge {
namespace {

constexpr std::size_t kib = 1024;

// The bridge's debug lines about streams that ended, and why.
std::string ended_streams(const std::string& log) {
  std::string lines;
  for (auto at = log.find(" ends: "); at != std::string::npos; at = log.find(" ends: ", at + 1)) {
    const auto begin = log.rfind('\n', at) + 1;
    lines.append(log, begin, log.find('\n', at) + 1 - begin);
  }
  return lines;
}

constexpr std::size_t mib = 1024 * kib;

TEST_F(LiveStreams, SubscribeFloodFromClientsThatNeverReadStaysWithinTheMemoryBudget) {
  constexpr std::size_t queue_bytes = 256 * kib;
  constexpr int flooders = 8;
  constexpr int jobs = 1000;
  // No request rate limit: this test's own REST checks and connections would pass it.
  auto bridge = start_bridge({"--stream-queue-bytes", std::to_string(queue_bytes), "--stream-stall-timeout",
                              "60s", "--rate-limit", "0"});
  const auto port = bridge->port();
  const auto alice = user("alice");
  const auto bob = user("bob");

  // Alice has 1000 jobs of about 180 bytes each: a snapshot of her jobs is about 230 KB.
  for (int job = 0; job < jobs; ++job) {
    publish(alice, "job-" + std::to_string(job),
            {{"status", "in_progress"},
             {"seq", 1},
             {"progress", 0.5},
             {"type", "import"},
             {"message", "copying part " + std::to_string(job) + " of the nightly import, 50 MB left"}});
  }
  ASSERT_TRUE(rest_serves(port, alice, "job-" + std::to_string(jobs - 1)));
  auto bystander = open_websocket(port, token_for(bob));
  ASSERT_TRUE(next_of_type(*bystander, "snapshot"));
  auto reader = open_websocket(port, token_for(alice));
  auto first = next_of_type(*reader, "snapshot");
  ASSERT_TRUE(first);
  const std::size_t snapshot_bytes = first->dump().size();
  ASSERT_EQ((*first)["jobs"].size(), static_cast<std::size_t>(jobs));

  const std::size_t baseline = bridge->resident_bytes();
  std::vector<std::unique_ptr<websocket_test_client>> flood;
  for (int i = 0; i < flooders; ++i) {
    flood.push_back(open_websocket(port, token_for(alice), {}, small_receive_buffer()));
    ASSERT_TRUE(flood.back()->upgraded());
  }

  // 19 subscribe ops a second from each (under the op rate limit), for 10 s, while nobody reads them.
  // Before budgets this took the bridge from about 300 MB to 670 MB in 15 s.
  std::size_t peak = baseline;
  int seq = 0;
  const auto flood_start = std::chrono::steady_clock::now();
  for (int round = 0; round < 190; ++round) {
    for (auto& client : flood) ASSERT_TRUE(client->send_text(R"({"op":"subscribe"})"));
    if (round % 19 == 0) {
      expect_bystander_served(*bridge, *bystander, bob, ++seq);
      peak = std::max(peak, bridge->resident_bytes());
    }
    std::this_thread::sleep_until(flood_start + (round + 1) * 52ms);
  }
  peak = std::max(peak, bridge->resident_bytes());

  // The documented bound (docs/protocol.md): per stream, its budget plus one snapshot being written and
  // one waiting (and a few KiB of buffers); the allocator keeps some freed memory on top.
  const std::size_t per_stream = queue_bytes + 2 * snapshot_bytes + 64 * kib;
  const std::size_t allowed = flooders * per_stream + 16 * mib;
  std::cerr << "bridge RSS: baseline " << baseline / kib << " KiB, peak " << peak / kib
            << " KiB, allowed growth " << allowed / kib << " KiB\n";
  EXPECT_LT(peak - baseline, allowed) << "baseline " << baseline / kib << " KiB, peak " << peak / kib
                                      << " KiB, snapshot " << snapshot_bytes << " bytes";
  EXPECT_EQ(stream_closes(*bridge, "over_budget"), 0) << "snapshots alone are never over the budget";

  // Changes on top of the two snapshots each flooder holds pass its budget: it is closed with 4009. The
  // bridge may still be answering the last subscribes (each snapshot replaces the changes queued before
  // it), so big changes of distinct jobs (no conflation) go out until every flooder is closed, each one
  // read at once by the reading client of the same user. The close is counted once the connection is
  // gone (a 5 s grace for the close frame); the debug log tells at once.
  const auto over_budget_closes = [&] {
    const auto log = bridge->log();
    std::size_t count = 0;
    for (auto at = log.find("ends: over_budget"); at != std::string::npos;
         at = log.find("ends: over_budget", at + 1))
      ++count;
    return count;
  };
  int published = 0;
  while (over_budget_closes() < flooders && published < jobs) {
    const auto job = "job-" + std::to_string(published++);
    publish(alice, job, big_update(2));
    auto change = next_of_type(*reader, "job");
    ASSERT_TRUE(change && (*change)["job"]["jobId"] == job) << "the reader missed " << job;
  }
  ASSERT_TRUE(wait_until([&] { return over_budget_closes() == flooders; }, 5s))
      << over_budget_closes() << " over budget after " << published << " changes; streams ended:\n"
      << ended_streams(bridge->log());
  EXPECT_GE(published, 5) << "256 KiB hold at least four changes of 60 kB";

  // Flooders that read now find the close frame behind what was buffered, at least the last one closed
  // (the others may be past their grace already, and then only see the connection end).
  int told_over_budget = 0;
  for (auto& client : flood) {
    ASSERT_TRUE(client->wait_for_end(10s));
    if (client->close_code()) {
      EXPECT_EQ(*client->close_code(), close_over_budget);
      ++told_over_budget;
    }
  }
  EXPECT_GE(told_over_budget, 1);
  EXPECT_TRUE(wait_until([&] { return stream_closes(*bridge, "over_budget") == flooders; }, 20s))
      << bridge->scrape();
  expect_bystander_served(*bridge, *bystander, bob, ++seq);
}

}  // namespace
}  // namespace progress::bridge
