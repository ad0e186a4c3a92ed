// The real bridge behind a real nginx (Debian's nginx-light) that proxies
// with the documented settings (docs/nginx-proxy.conf): REST, WebSocket
// upgrades and SSE pass through, and the client address the bridge limits and
// logs by is the one nginx forwards, only when nginx is a --trusted-proxy.
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "live_stream_fixture.hpp"
#include "nginx_proxy.hpp"

namespace progress::bridge {
namespace {

using test::nginx_proxy;
using test::send_request;
using ::testing::HasSubstr;

// A bridge and the nginx in front of it.
struct spent_burst {
  std::unique_ptr<bridge_process> bridge;
  std::unique_ptr<nginx_proxy> proxy;
};

class BridgeBehindProxy : public LiveStreams {
 protected:
  // A REST request through the proxy from `source`, a client machine of its own.
  static unsigned rest_via(const nginx_proxy& proxy, const std::string& user_id, const std::string& source,
                           const header_list& headers = {}) {
    return send_request(proxy.port(), http::verb::get, "/api/v1/users/" + user_id + "/jobs",
                        token_for(user_id), headers, source)
        .status;
  }

  // A bridge with a tight rate limit (a burst of 3, then one request a hundred
  // seconds) that trusts `trusted`, behind nginx, once 127.0.0.2 has spent its
  // burst through the proxy.
  spent_burst spend_burst(const std::string& trusted) {
    spent_burst stack;
    stack.bridge =
        start_bridge({"--rate-limit", "0.01", "--rate-limit-burst", "3", "--trusted-proxy", trusted});
    stack.proxy = std::make_unique<nginx_proxy>(stack.bridge->port());
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(rest_via(*stack.proxy, user("alice"), "127.0.0.2"), 200u) << stack.proxy->log();
    }
    return stack;
  }
};

TEST_F(BridgeBehindProxy, RateLimitsEachForwardedClientWhenTheProxyIsTrusted) {
  const auto [bridge, proxy] = spend_burst("127.0.0.1/32");
  const auto alice = user("alice");
  EXPECT_EQ(rest_via(*proxy, alice, "127.0.0.2"), 429u);
  // An address the client writes itself changes nothing: nginx appends the real one, read first.
  EXPECT_EQ(rest_via(*proxy, alice, "127.0.0.2", {{"X-Forwarded-For", "198.51.100.77"}}), 429u);
  EXPECT_EQ(rest_via(*proxy, alice, "127.0.0.3"), 200u) << "another client has its own budget";
  EXPECT_THAT(bridge->log(), HasSubstr("127.0.0.2 GET /api/v1/users/{userId}/jobs -> 429"));
  EXPECT_THAT(bridge->log(), HasSubstr("127.0.0.3 GET /api/v1/users/{userId}/jobs -> 200"));
}

TEST_F(BridgeBehindProxy, AnUntrustedProxyIsOneClient) {
  const auto [bridge, proxy] = spend_burst("10.0.0.0/8");
  EXPECT_EQ(rest_via(*proxy, user("alice"), "127.0.0.3"), 429u) << "every client shares nginx's budget";
  EXPECT_THAT(bridge->log(), HasSubstr("127.0.0.1 GET /api/v1/users/{userId}/jobs -> 429"));
}

TEST_F(BridgeBehindProxy, WebSocketAndSsePassThroughAndCountUnderTheirClient) {
  auto bridge = start_bridge({"--trusted-proxy", "127.0.0.1/32", "--max-connections-per-address", "2"});
  nginx_proxy proxy{bridge->port()};
  const auto alice = user("alice");
  websocket_options from_4;
  from_4.source_address = "127.0.0.4";
  auto ws = open_websocket(proxy.port(), token_for(alice), {}, from_4);
  ASSERT_TRUE(ws->upgraded()) << ws->upgrade_status() << "\n" << proxy.log();
  ASSERT_TRUE(next_of_type(*ws, "snapshot"));
  auto sse = open_sse(proxy.port(), alice, token_for(alice));
  ASSERT_EQ(sse->status(), 200u) << sse->body();
  ASSERT_TRUE(next_event_of_type(*sse, "snapshot"));

  publish(alice, "proxied", {{"status", "in_progress"}, {"seq", 1}});
  const auto over_ws = next_of_type(*ws, "job");
  ASSERT_TRUE(over_ws);
  EXPECT_EQ((*over_ws)["job"]["jobId"], "proxied");
  const auto over_sse = next_event_of_type(*sse, "job");
  ASSERT_TRUE(over_sse);
  EXPECT_EQ((*over_sse)["job"]["jobId"], "proxied");

  // Streams hold their connection under the forwarded client's address.
  auto second = open_websocket(proxy.port(), token_for(alice), {}, from_4);
  ASSERT_TRUE(second->upgraded());
  auto third = open_websocket(proxy.port(), token_for(alice), {}, from_4);
  EXPECT_FALSE(third->upgraded());
  EXPECT_EQ(third->upgrade_status(), 503u);
  websocket_options from_5;
  from_5.source_address = "127.0.0.5";
  EXPECT_TRUE(open_websocket(proxy.port(), token_for(alice), {}, from_5)->upgraded());
  EXPECT_GE(metric_with_label(bridge->scrape(), "progress_bridge_connections_refused_total",
                              R"(listener="public",reason="per_address")"),
            1.0);
}

}  // namespace
}  // namespace progress::bridge
