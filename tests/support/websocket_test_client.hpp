#pragma once
// A WebSocket client for tests of the bridge's live stream. It runs its own
// io_context only inside its calls, so a test decides exactly when it reads:
// between calls nothing drains the socket, which makes a deliberately stalled
// consumer (with a small SO_RCVBUF) easy to build.

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "client_socket.hpp"
#include "http_test_client.hpp"

namespace progress::test {

struct websocket_options {
  header_list headers;  // sent with the upgrade request, e.g. Authorization
  // SO_RCVBUF set before connecting (the kernel doubles it and applies its minimum).
  std::optional<int> receive_buffer_bytes;
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(5);
  // Where the connection comes from (open_client_socket); empty: the default.
  std::string source_address;
};

class websocket_test_client {
 public:
  // Connects to 127.0.0.1:port and asks to upgrade `target`. A refused upgrade
  // is no exception: see upgraded() and upgrade_response().
  websocket_test_client(unsigned short port, const std::string& target, websocket_options options = {});
  // Drops the TCP connection without a close handshake.
  ~websocket_test_client();

  websocket_test_client(const websocket_test_client&) = delete;
  websocket_test_client& operator=(const websocket_test_client&) = delete;

  // True after "101 Switching Protocols".
  [[nodiscard]] bool upgraded() const noexcept { return upgraded_; }
  // The server's answer to the upgrade request; status 0 when none came.
  [[nodiscard]] unsigned upgrade_status() const { return upgrade_response_.result_int(); }
  [[nodiscard]] const http::response<http::string_body>& upgrade_response() const noexcept {
    return upgrade_response_;
  }

  // The next message as JSON (a discarded value when it is not JSON), or
  // nothing when none arrives within `timeout` or the connection has ended.
  std::optional<nlohmann::json> next_message(std::chrono::milliseconds timeout);
  // Reads (and queues for next_message) until the connection ends, at most
  // `timeout`; true when it ended.
  bool wait_for_end(std::chrono::milliseconds timeout);
  // Messages received but not yet taken by next_message.
  [[nodiscard]] std::size_t queued_messages() const noexcept { return inbox_.size(); }

  // Sends one frame; false when it could not be written within `timeout`.
  bool send_text(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  bool send_binary(const std::string& bytes, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Starts a normal closure (1000) and waits up to `timeout` for the server's answer.
  bool close(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // True once the connection has ended (closed, reset or failed).
  [[nodiscard]] bool ended() const noexcept { return ended_; }
  // The close code of the server's close frame, if it sent one.
  [[nodiscard]] std::optional<unsigned> close_code() const noexcept { return close_code_; }
  // Why the connection ended, e.g. "The WebSocket stream was gracefully closed".
  [[nodiscard]] std::string end_reason() const { return end_error_.message(); }
  // Ping frames the server sent so far (answered automatically while reading).
  [[nodiscard]] std::size_t pings_received() const noexcept { return pings_received_; }

 private:
  void read_next();
  bool send(const std::string& payload, bool binary, std::chrono::milliseconds timeout);
  // Runs the io_context until `done` holds, the deadline passes or nothing is left to do.
  template <typename Condition>
  bool run_until(Condition done, std::chrono::milliseconds timeout);

  net::io_context ioc_;
  websocket::stream<beast::tcp_stream> ws_;
  http::response<http::string_body> upgrade_response_;
  beast::flat_buffer read_buffer_;
  std::deque<std::string> inbox_;
  bool upgraded_ = false;
  bool ended_ = false;
  bool write_in_flight_ = false;
  std::optional<unsigned> close_code_;
  beast::error_code end_error_;
  std::size_t pings_received_ = 0;
};

}  // namespace progress::test
