#pragma once
// A real listener on a loopback port with a service that echoes each request,
// run on its own thread, and blocking clients that may come from any
// 127.0.0.0/8 address: what the listener and http_session tests share.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "http_error.hpp"
#include "listener.hpp"

namespace progress::bridge {

// Answers every request with its target and the client address it was given
// (X-Remote, X-Client-Key); "/handoff" takes the stream over, answers on it
// directly and keeps the connection's slot until release_slots().
class echo_service : public http_service {
 public:
  http_answer serve(const http_request& req, const request_info& info) override {
    if (req.target() == "/handoff") {
      return
          [this](connection_stream stream, http_request request, beast::flat_buffer, connection_slot slot) {
            ++handed_over;
            {
              std::lock_guard lock{mutex_};
              slots_.push_back(std::move(slot));
            }
            http_response res{http::status::ok, request.version()};
            res.body() = "taken";
            res.keep_alive(false);
            res.prepare_payload();
            beast::error_code ec;
            http::write(stream, res, ec);
            stream.socket().shutdown(tcp::socket::shutdown_both, ec);
          };
    }
    ++handled;
    auto res = json_response(req, http::status::ok, "\"" + std::string(req.target()) + "\"");
    res.set("X-Remote", info.remote_address);
    res.set("X-Client-Key", info.client_key);
    return res;
  }

  void on_rejected(http::status status, const request_info&) override {
    last_rejected = static_cast<int>(status);
  }

  void on_connection_refused(std::string_view reason) override {
    std::lock_guard lock{mutex_};
    refusals_.emplace_back(reason);
  }

  [[nodiscard]] std::vector<std::string> refusals() const {
    std::lock_guard lock{mutex_};
    return refusals_;
  }

  void release_slots() {
    std::lock_guard lock{mutex_};
    slots_.clear();
  }

  std::atomic<int> handled{0};
  std::atomic<int> handed_over{0};
  std::atomic<int> last_rejected{0};

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> refusals_;
  std::vector<connection_slot> slots_;
};

class ListenerTest : public ::testing::Test {
 protected:
  void start(const http_limits& limits, listener_options options = {}) {
    options.limits = limits;
    service_ = std::make_shared<echo_service>();
    beast::error_code ec;
    listener_ = std::make_shared<listener>(ioc_, tcp::endpoint{net::ip::make_address("127.0.0.1"), 0},
                                           service_, std::move(options), ec);
    ASSERT_FALSE(ec) << ec.message();
    endpoint_ = listener_->local_endpoint();
    ASSERT_NE(endpoint_.port(), 0);
    listener_->run();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  void TearDown() override {
    if (listener_) listener_->stop();
    if (thread_.joinable()) thread_.join();  // returns once every session has closed
  }

  // A connection from `source` (any address of 127.0.0.0/8).
  beast::tcp_stream connect(const std::string& source = "127.0.0.1") {
    beast::tcp_stream stream{client_ioc_};
    stream.socket().open(tcp::v4());
    stream.socket().bind(tcp::endpoint{net::ip::make_address(source), 0});
    stream.connect(endpoint_);
    stream.expires_after(std::chrono::seconds{10});
    return stream;
  }

  static http_response exchange(beast::tcp_stream& stream, http_request& req, beast::error_code& ec) {
    http::write(stream, req, ec);
    http_response res;
    if (ec) return res;
    beast::flat_buffer buffer;
    http::read(stream, buffer, res, ec);
    return res;
  }

  // True when the server closes `stream` (EOF or reset) within `within`.
  bool closed_by_server(beast::tcp_stream& stream, std::chrono::seconds within = std::chrono::seconds{10}) {
    char byte = 0;
    beast::error_code result;
    stream.expires_after(within);
    stream.async_read_some(net::buffer(&byte, 1), [&](beast::error_code ec, std::size_t) { result = ec; });
    client_ioc_.restart();
    client_ioc_.run();
    return result == net::error::eof || result == net::error::connection_reset;
  }

  // A GET of `target` on a new connection from `source`, with `headers`.
  http_response get_from(const std::string& source, const std::string& target,
                         const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    auto stream = connect(source);
    http_request req{http::verb::get, target, 11};
    for (const auto& [name, value] : headers) req.set(name, value);
    beast::error_code ec;
    auto res = exchange(stream, req, ec);
    EXPECT_FALSE(ec) << ec.message();
    return res;
  }

  net::io_context ioc_;
  net::io_context client_ioc_;
  std::shared_ptr<echo_service> service_;
  std::shared_ptr<listener> listener_;
  tcp::endpoint endpoint_;
  std::thread thread_;
};

}  // namespace progress::bridge
