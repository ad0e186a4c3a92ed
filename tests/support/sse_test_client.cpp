#include "sse_test_client.hpp"

#include <cstdint>
#include <limits>

namespace progress::test {

using namespace std::chrono_literals;

sse_test_client::sse_test_client(unsigned short port, const std::string& target, const header_list& headers,
                                 std::chrono::milliseconds timeout)
    : stream_(ioc_), request_(http::verb::get, target, 11) {
  request_.set(http::field::host, "127.0.0.1");
  request_.set(http::field::accept, "text/event-stream");
  for (const auto& [name, value] : headers) request_.set(name, value);
  // A stream has no length; the default limit (8 MiB) would end a long one.
  parser_.body_limit(std::numeric_limits<std::uint64_t>::max());

  if (open_client_socket(stream_.socket())) {
    ended_ = true;
    return;
  }
  stream_.expires_after(timeout);
  stream_.async_connect(
      net::ip::tcp::endpoint{net::ip::make_address("127.0.0.1"), port}, [this](beast::error_code connect_ec) {
        if (connect_ec) {
          ended_ = true;
          return;
        }
        http::async_write(stream_, request_, [this](beast::error_code write_ec, std::size_t) {
          if (write_ec) {
            ended_ = true;
            return;
          }
          http::async_read_header(stream_, buffer_, parser_, [this](beast::error_code read_ec, std::size_t) {
            if (read_ec) {
              ended_ = true;
              return;
            }
            header_received_ = true;
            // The body is waited for by the caller's deadlines, not the stream's.
            stream_.expires_never();
            read_some();
          });
        });
      });
  run_until([this] { return header_received_ || ended_; }, timeout + 1s);
  // A refusal is an ordinary response: read its whole body now.
  if (header_received_ && status() != 200) run_until([this] { return ended_; }, timeout);
}

sse_test_client::~sse_test_client() {
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  stream_.close();
  // Let the aborted operations finish while this object is still whole.
  ioc_.restart();
  ioc_.poll();
}

std::string sse_test_client::header(http::field name) const {
  if (!header_received_) return {};
  return std::string(parser_.get()[name]);
}

void sse_test_client::read_some() {
  if (parser_.is_done()) {
    ended_ = true;
    return;
  }
  parser_.get().body().data = chunk_.data();
  parser_.get().body().size = chunk_.size();
  http::async_read_some(stream_, buffer_, parser_, [this](beast::error_code ec, std::size_t) {
    const auto received = chunk_.size() - parser_.get().body().size;
    body_.append(chunk_.data(), received);
    parse_lines();
    // need_buffer only says the chunk is full: read on.
    if (ec == http::error::need_buffer) ec = {};
    if (ec || parser_.is_done()) {
      ended_ = true;
      return;
    }
    read_some();
  });
}

void sse_test_client::parse_lines() {
  for (;;) {
    const auto end = body_.find('\n', parsed_up_to_);
    if (end == std::string::npos) return;
    auto line = body_.substr(parsed_up_to_, end - parsed_up_to_);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    parsed_up_to_ = end + 1;
    take_line(line);
  }
}

// One line of the event-stream format (WHATWG HTML, "Server-sent events").
void sse_test_client::take_line(const std::string& line) {
  if (line.empty()) {
    if (current_has_fields_) {
      if (current_.event.empty()) current_.event = "message";
      events_.push_back(std::move(current_));
    }
    current_ = {};
    current_has_fields_ = false;
    return;
  }
  if (line.front() == ':') {
    comments_.push_back(line.substr(1));
    return;
  }
  const auto colon = line.find(':');
  const auto field = line.substr(0, colon);
  std::string value = colon == std::string::npos ? std::string{} : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.erase(0, 1);
  current_has_fields_ = true;
  if (field == "event") {
    current_.event = value;
  } else if (field == "id") {
    current_.id = value;
  } else if (field == "data") {
    if (!current_.data.empty()) current_.data += '\n';
    current_.data += value;
  }
}

template <typename Condition>
bool sse_test_client::run_until(Condition done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    if (ioc_.stopped()) ioc_.restart();
    // Nothing ran and nothing is pending: no handler can make `done` true any more.
    if (ioc_.run_one_for(deadline - now) == 0 && ioc_.stopped()) return done();
  }
  return true;
}

std::optional<sse_event> sse_test_client::next_event(std::chrono::milliseconds timeout) {
  run_until([this] { return !events_.empty() || ended_; }, timeout);
  if (events_.empty()) return std::nullopt;
  auto event = std::move(events_.front());
  events_.pop_front();
  return event;
}

bool sse_test_client::wait_for_comment(std::chrono::milliseconds timeout) {
  const auto seen = comments_.size();
  return run_until([&] { return comments_.size() > seen || ended_; }, timeout) && comments_.size() > seen;
}

bool sse_test_client::wait_for_end(std::chrono::milliseconds timeout) {
  return run_until([this] { return ended_; }, timeout);
}

}  // namespace progress::test
