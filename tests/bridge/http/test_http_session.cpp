#include "http_session.hpp"

#include <string>

#include <gtest/gtest.h>

#include "listener_fixture.hpp"

namespace progress::bridge {
namespace {

using HttpSessionTest = ListenerTest;

TEST_F(HttpSessionTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start({});
  auto stream = connect();
  for (const char* target : {"/one", "/two", "/three"}) {
    http_request req{http::verb::get, target, 11};
    beast::error_code ec;
    const auto res = exchange(stream, req, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_EQ(res.body(), "\"" + std::string(target) + "\"");
    EXPECT_EQ(res["X-Remote"], "127.0.0.1");
  }
  EXPECT_EQ(service_->handled, 3);
}

TEST_F(HttpSessionTest, OversizedBodyIsAnswered413AndClosed) {
  http_limits limits;
  limits.body_limit = 100;
  start(limits);
  auto stream = connect();
  http_request req{http::verb::post, "/upload", 11};
  req.body() = std::string(1000, 'x');
  req.prepare_payload();
  beast::error_code ec;
  const auto res = exchange(stream, req, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result(), http::status::payload_too_large);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(service_->last_rejected, 413);
  EXPECT_EQ(service_->handled, 0);
}

TEST_F(HttpSessionTest, OversizedHeaderIsAnswered431) {
  http_limits limits;
  limits.header_limit = 512;
  start(limits);
  auto stream = connect();
  http_request req{http::verb::get, "/x", 11};
  req.set(http::field::authorization, std::string(2000, 'a'));
  beast::error_code ec;
  const auto res = exchange(stream, req, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result(), http::status::request_header_fields_too_large);
  EXPECT_EQ(service_->last_rejected, 431);
}

TEST_F(HttpSessionTest, MalformedRequestIsAnswered400) {
  start({});
  auto stream = connect();
  const std::string garbage = "GET /x HTTP/1.1\r\nBad Header Without Colon\r\n\r\n";
  net::write(stream, net::buffer(garbage));
  http_response res;
  beast::flat_buffer buffer;
  beast::error_code ec;
  http::read(stream, buffer, res, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result(), http::status::bad_request);
}

TEST_F(HttpSessionTest, ConnectionClosesAfterRequestLimit) {
  http_limits limits;
  limits.max_requests_per_connection = 2;
  start(limits);
  auto stream = connect();
  http_request req{http::verb::get, "/x", 11};
  beast::error_code ec;
  EXPECT_TRUE(exchange(stream, req, ec).keep_alive());
  const auto last = exchange(stream, req, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_FALSE(last.keep_alive());
  exchange(stream, req, ec);
  EXPECT_TRUE(ec);  // the server closed the connection
}

TEST_F(HttpSessionTest, HandoffTakesTheStream) {
  start({});
  auto stream = connect();
  http_request req{http::verb::get, "/handoff", 11};
  beast::error_code ec;
  const auto res = exchange(stream, req, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.body(), "taken");
  EXPECT_EQ(service_->handed_over, 1);
  EXPECT_EQ(service_->handled, 0);
}

TEST_F(HttpSessionTest, StopClosesIdleConnections) {
  start({});
  auto stream = connect();
  http_request req{http::verb::get, "/x", 11};
  beast::error_code ec;
  exchange(stream, req, ec);
  ASSERT_FALSE(ec);
  listener_->stop();
  // The idle connection is closed by the server: the next read sees EOF.
  beast::flat_buffer buffer;
  http_response res;
  http::read(stream, buffer, res, ec);
  EXPECT_EQ(ec, http::error::end_of_stream);
  thread_.join();  // the io_context ran out of work: nothing is left open
}

}  // namespace
}  // namespace progress::bridge
