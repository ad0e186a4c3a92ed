#pragma once
// A Server-Sent-Events client for tests of the bridge's live stream: one GET
// on a raw Beast TCP stream, the text/event-stream body parsed into events
// (`event:`, `id:`, `data:`) and comment lines. Like websocket_test_client it
// reads only inside its calls.

#include <array>
#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client_socket.hpp"
#include "http_test_client.hpp"

namespace progress::test {

struct sse_event {
  std::string event;  // "message" when the server sent no `event:` line
  std::string id;     // empty when the event had no `id:` line
  std::string data;   // the `data:` lines joined with '\n'
  [[nodiscard]] nlohmann::json data_json() const { return nlohmann::json::parse(data, nullptr, false); }
};

class sse_test_client {
 public:
  // Sends `GET target` to 127.0.0.1:port with `headers` and reads the response
  // header, and the whole body of any answer but 200 (at most `timeout` each);
  // see status() and body().
  sse_test_client(unsigned short port, const std::string& target, const header_list& headers = {},
                  std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~sse_test_client();

  sse_test_client(const sse_test_client&) = delete;
  sse_test_client& operator=(const sse_test_client&) = delete;

  // The response status; 0 when no header arrived.
  [[nodiscard]] unsigned status() const { return header_received_ ? parser_.get().result_int() : 0; }
  [[nodiscard]] std::string header(http::field name) const;

  // The next complete event, or nothing when none arrives within `timeout` or the response ended.
  std::optional<sse_event> next_event(std::chrono::milliseconds timeout);
  // Waits until one more comment line (`: ...`) arrives; false when none did in time.
  bool wait_for_comment(std::chrono::milliseconds timeout);
  // Reads (queueing events) until the response body ends, at most `timeout`.
  bool wait_for_end(std::chrono::milliseconds timeout);

  // Comment lines so far, without the leading ':'.
  [[nodiscard]] const std::vector<std::string>& comments() const noexcept { return comments_; }
  // The whole body so far, as received (for failure messages and non-stream answers).
  [[nodiscard]] const std::string& body() const noexcept { return body_; }
  [[nodiscard]] bool ended() const noexcept { return ended_; }

 private:
  void read_some();
  void parse_lines();
  void take_line(const std::string& line);
  template <typename Condition>
  bool run_until(Condition done, std::chrono::milliseconds timeout);

  net::io_context ioc_;
  beast::tcp_stream stream_;
  http::request<http::empty_body> request_;
  beast::flat_buffer buffer_;
  http::response_parser<http::buffer_body> parser_;
  std::array<char, 16 * 1024> chunk_{};
  bool header_received_ = false;
  bool ended_ = false;

  std::string body_;
  std::size_t parsed_up_to_ = 0;  // offset in body_ of the first unparsed line
  sse_event current_;
  bool current_has_fields_ = false;
  std::deque<sse_event> events_;
  std::vector<std::string> comments_;
};

}  // namespace progress::test
