// The real progress-bridge binary under connection floods over real sockets
// (docs/security.md): a process with few file descriptors, one address that
// wants every slot, a full public listener, and tens of thousands of attempts
// at the cap. The bridge must stay calm (little CPU, few log lines), keep its
// probes answering on the admin listener, and serve again once the flood ends.
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "bridge_process.hpp"
#include "http_test_client.hpp"
#include "idle_connections.hpp"
#include "mosquitto_broker.hpp"
#include "prometheus_scrape.hpp"
#include "test_tokens.hpp"

namespace progress::bridge {
namespace {

using namespace std::chrono_literals;
using test::bridge_process;
using test::http_get;
using test::idle_connections;
using test::metric_with_label;
using test::mosquitto_broker;
using test::process_cpu_seconds;
using test::send_request;
using test::token_for;
using test::wait_until;
using ::testing::HasSubstr;
using ::testing::Not;
namespace http = test::http;

// Lines of the bridge's log, but for the debug lines of the test's own scrapes
// (it polls /metrics, more often the slower the machine).
std::size_t lines_in(const std::string& log) {
  std::size_t lines = 0;
  for (std::size_t start = 0, end = 0; (end = log.find('\n', start)) != std::string::npos; start = end + 1) {
    if (log.substr(start, end - start).find(" GET /metrics -> ") == std::string::npos) ++lines;
  }
  return lines;
}

class BridgeEdge : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    test::raise_open_file_limit();  // the floods below hold hundreds of sockets
    broker_ = std::make_unique<mosquitto_broker>();
  }
  static void TearDownTestSuite() { broker_.reset(); }

  static double refused(const bridge_process& bridge, const std::string& reason) {
    return metric_with_label(bridge.scrape(), "progress_bridge_connections_refused_total",
                             R"(listener="public",reason=")" + reason + "\"");
  }
  static double open_connections(const bridge_process& bridge) {
    return metric_with_label(bridge.scrape(), "progress_bridge_connections_open", R"(listener="public")");
  }
  // A REST request of alice's, from `source`; status 0 when the connection was refused.
  static unsigned rest_status(const bridge_process& bridge, const std::string& source = {}) {
    return send_request(bridge.port(), http::verb::get, "/api/v1/users/alice/jobs", token_for("alice"), {},
                        source)
        .status;
  }

  static inline std::unique_ptr<mosquitto_broker> broker_;
};

TEST_F(BridgeEdge, FewFileDescriptorsAFloodPastThemStaysCalmAndServesAgain) {
  constexpr unsigned open_file_limit = 256;
  constexpr std::size_t flood = 600;
  bridge_process bridge{*broker_, "few-descriptors", {}, open_file_limit};
  ASSERT_TRUE(bridge.becomes_ready()) << bridge.log();
  // It says how many connections the limit leaves room for, and serves that many.
  const std::string served = "serving at most " + std::to_string(open_file_limit - 64) + " connections";
  EXPECT_THAT(bridge.log(), HasSubstr(served));
  const auto log_before = bridge.log();
  const double cpu_before = process_cpu_seconds(bridge.pid());

  idle_connections idle{bridge.port(), flood};
  // What it has no room for is closed at once, not left waiting.
  EXPECT_TRUE(wait_until([&] { return idle.closed_by_server() >= flood - (open_file_limit - 64); }, 30s))
      << idle.closed_by_server() << " closed\n"
      << bridge.log();
  EXPECT_EQ(bridge.admin_get("/healthz").status, 200u);
  EXPECT_EQ(bridge.admin_get("/readyz").status, 200u);
  std::this_thread::sleep_for(5s);  // the flood holds on
  const double cpu_used = process_cpu_seconds(bridge.pid()) - cpu_before;
  const auto log_during = bridge.log().substr(log_before.size());
  RecordProperty("cpu_seconds_during_flood", std::to_string(cpu_used));
  RecordProperty("log_lines_during_flood", std::to_string(lines_in(log_during)));
  EXPECT_LT(cpu_used, 2.0) << "no busy loop";
  EXPECT_LE(lines_in(log_during), 40u) << log_during;
  EXPECT_THAT(log_during, Not(HasSubstr("Too many open files"))) << "the cap keeps descriptors for the rest";
  EXPECT_GE(refused(bridge, "max_connections"), static_cast<double>(flood - (open_file_limit - 64)));

  // The clients leave: it serves again.
  idle.close();
  EXPECT_TRUE(wait_until([&] { return open_connections(bridge) == 0; }, 20s)) << bridge.scrape();
  EXPECT_EQ(rest_status(bridge), 200u);
}

TEST_F(BridgeEdge, OneAddressAtItsCapLeavesOtherAddressesIn) {
  constexpr std::size_t cap = 8;
  bridge_process bridge{*broker_, "per-address", {"--max-connections-per-address", std::to_string(cap)}};
  ASSERT_TRUE(bridge.becomes_ready()) << bridge.log();
  idle_connections held{bridge.port(), cap, "127.0.0.1"};
  ASSERT_TRUE(wait_until([&] { return open_connections(bridge) == cap; }, 10s)) << bridge.scrape();

  idle_connections more{bridge.port(), 3, "127.0.0.1"};
  EXPECT_TRUE(wait_until([&] { return more.closed_by_server() == 3; }, 10s));
  EXPECT_EQ(rest_status(bridge, "127.0.0.1"), 0u) << "127.0.0.1 is at its cap";
  EXPECT_EQ(rest_status(bridge, "127.0.0.2"), 200u) << "another address still gets in";
  EXPECT_EQ(refused(bridge, "per_address"), 4.0);
  EXPECT_EQ(held.closed_by_server(), 0u) << "the connections it holds are not disturbed";
}

TEST_F(BridgeEdge, ProbesAnswerOnTheAdminListenerWhileThePublicOneIsFull) {
  constexpr std::size_t max_connections = 16;
  bridge_process bridge{*broker_, "full", {"--max-connections", std::to_string(max_connections)}};
  ASSERT_TRUE(bridge.becomes_ready()) << bridge.log();
  idle_connections full{bridge.port(), max_connections};
  ASSERT_TRUE(wait_until([&] { return open_connections(bridge) == max_connections; }, 10s))
      << bridge.scrape();

  EXPECT_EQ(rest_status(bridge), 0u) << "the public listener is full";
  EXPECT_EQ(bridge.admin_get("/healthz").status, 200u);
  EXPECT_EQ(bridge.admin_get("/readyz").status, 200u);
  const auto scrape = bridge.scrape();
  EXPECT_EQ(metric_with_label(scrape, "progress_bridge_connections_open", R"(listener="public")"),
            static_cast<double>(max_connections));
  EXPECT_GE(refused(bridge, "max_connections"), 1.0);
  // Nor does the public listener answer probes when it has room.
  full.close();
  ASSERT_TRUE(wait_until([&] { return open_connections(bridge) == 0; }, 20s));
  EXPECT_EQ(http_get(bridge.port(), "/healthz").status, 404u);
}

TEST_F(BridgeEdge, TwentyThousandAttemptsAtTheCapWriteABoundedNumberOfLines) {
  constexpr std::size_t max_connections = 4;
  constexpr std::size_t attempts = 20000;
  bridge_process bridge{*broker_, "log-flood", {"--max-connections", std::to_string(max_connections)}};
  ASSERT_TRUE(bridge.becomes_ready()) << bridge.log();
  idle_connections full{bridge.port(), max_connections};
  ASSERT_TRUE(wait_until([&] { return open_connections(bridge) == max_connections; }, 10s));
  const auto log_before = bridge.log();

  // From a few addresses of their own, so the short connections use no ports other tests need.
  std::size_t connected = 0;
  for (const auto* source : {"127.0.0.10", "127.0.0.11", "127.0.0.12", "127.0.0.13"}) {
    connected += test::connect_and_leave(bridge.port(), attempts / 4, source);
  }
  ASSERT_EQ(connected, attempts);
  EXPECT_TRUE(wait_until([&] { return refused(bridge, "max_connections") >= attempts; }, 60s))
      << refused(bridge, "max_connections");
  const auto log_flood = bridge.log().substr(log_before.size());
  RecordProperty("log_lines_for_20000_attempts", std::to_string(lines_in(log_flood)));
  EXPECT_LE(lines_in(log_flood), 30u) << log_flood;

  // Once its window has passed, the log says how much it left out.
  EXPECT_TRUE(wait_until(
      [&] { return bridge.log().find("log lines in the last", log_before.size()) != std::string::npos; },
      25s))
      << bridge.log().substr(log_before.size());
  EXPECT_THAT(bridge.log().substr(log_before.size()), HasSubstr("'connection_cap'"));
  EXPECT_EQ(bridge.admin_get("/healthz").status, 200u);
}

}  // namespace
}  // namespace progress::bridge
