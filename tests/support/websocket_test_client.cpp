#include "websocket_test_client.hpp"

namespace progress::test {

using namespace std::chrono_literals;
using nlohmann::json;

websocket_test_client::websocket_test_client(unsigned short port, const std::string& target,
                                             websocket_options options)
    : ws_(ioc_) {
  auto& tcp = beast::get_lowest_layer(ws_);
  beast::error_code ec = open_client_socket(tcp.socket(), options.source_address);
  if (ec) {
    ended_ = true;
    end_error_ = ec;
    return;
  }
  // Before connect, so the window the client advertises is small from the first byte.
  if (options.receive_buffer_bytes)
    tcp.socket().set_option(net::socket_base::receive_buffer_size(*options.receive_buffer_bytes), ec);

  ws_.set_option(websocket::stream_base::decorator([headers = options.headers](websocket::request_type& req) {
    for (const auto& [name, value] : headers) req.set(name, value);
  }));
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = options.connect_timeout;
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws_.set_option(timeouts);
  ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::ping) ++pings_received_;
  });

  // Handlers may outlive a timed-out wait, so they share their flags instead of borrowing locals.
  auto handshake_done = std::make_shared<bool>(false);
  tcp.expires_after(options.connect_timeout);
  tcp.async_connect(net::ip::tcp::endpoint{net::ip::make_address("127.0.0.1"), port},
                    [this, handshake_done, target](beast::error_code connect_ec) {
                      if (connect_ec) {
                        *handshake_done = true;
                        end_error_ = connect_ec;
                        return;
                      }
                      // The websocket stream keeps its own timeouts from here on.
                      beast::get_lowest_layer(ws_).expires_never();
                      ws_.async_handshake(upgrade_response_, "127.0.0.1", target,
                                          [this, handshake_done](beast::error_code handshake_ec) {
                                            *handshake_done = true;
                                            end_error_ = handshake_ec;
                                            upgraded_ = !handshake_ec;
                                          });
                    });
  run_until([&] { return *handshake_done; }, options.connect_timeout + 1s);
  if (!upgraded_) {
    ended_ = true;
    if (!end_error_) end_error_ = net::error::timed_out;
    beast::get_lowest_layer(ws_).close();
    return;
  }
  read_next();
}

websocket_test_client::~websocket_test_client() {
  beast::get_lowest_layer(ws_).close();
  // Let the aborted operations finish while this object is still whole.
  ioc_.restart();
  ioc_.poll();
}

void websocket_test_client::read_next() {
  ws_.async_read(read_buffer_, [this](beast::error_code ec, std::size_t) {
    if (ec) {
      ended_ = true;
      end_error_ = ec;
      if (ec == websocket::error::closed) close_code_ = ws_.reason().code;
      return;
    }
    inbox_.push_back(beast::buffers_to_string(read_buffer_.data()));
    read_buffer_.consume(read_buffer_.size());
    read_next();
  });
}

template <typename Condition>
bool websocket_test_client::run_until(Condition done, std::chrono::milliseconds timeout) {
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

std::optional<json> websocket_test_client::next_message(std::chrono::milliseconds timeout) {
  run_until([this] { return !inbox_.empty() || ended_; }, timeout);
  if (inbox_.empty()) return std::nullopt;
  auto message = json::parse(inbox_.front(), nullptr, false);
  inbox_.pop_front();
  return message;
}

bool websocket_test_client::wait_for_end(std::chrono::milliseconds timeout) {
  return run_until([this] { return ended_; }, timeout);
}

bool websocket_test_client::send(const std::string& payload, bool binary, std::chrono::milliseconds timeout) {
  if (ended_ || write_in_flight_) return false;
  auto bytes = std::make_shared<std::string>(payload);
  auto written = std::make_shared<bool>(false);
  write_in_flight_ = true;
  ws_.binary(binary);
  ws_.async_write(net::buffer(*bytes), [this, bytes, written](beast::error_code ec, std::size_t) {
    write_in_flight_ = false;
    *written = !ec;
  });
  // A write that cannot finish in time gives up the whole stream.
  if (!run_until([this] { return !write_in_flight_; }, timeout)) {
    beast::get_lowest_layer(ws_).close();
    return false;
  }
  return *written;
}

bool websocket_test_client::send_text(const std::string& text, std::chrono::milliseconds timeout) {
  return send(text, false, timeout);
}

bool websocket_test_client::send_binary(const std::string& bytes, std::chrono::milliseconds timeout) {
  return send(bytes, true, timeout);
}

bool websocket_test_client::close(std::chrono::milliseconds timeout) {
  if (ended_) return true;
  auto close_sent = std::make_shared<bool>(false);
  ws_.async_close(websocket::close_code::normal, [close_sent](beast::error_code) { *close_sent = true; });
  // The pending read ends when the server answers the close frame.
  const bool ended = run_until([&] { return *close_sent && ended_; }, timeout);
  if (!ended) beast::get_lowest_layer(ws_).close();
  return ended;
}

}  // namespace progress::test
