#pragma once
// One HTTP/1.1 connection: read a request, let the service answer it, write
// the answer, repeat while keep-alive holds (Beast advanced-server style,
// one request in flight, everything on the connection's strand).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "client_address.hpp"
#include "connection_table.hpp"
#include "http_service.hpp"
#include "http_types.hpp"

namespace progress::bridge {

struct http_limits {
  // Larger headers are answered 431: a JWT fits easily, a flood does not.
  std::size_t header_limit = 16 * 1024;
  // The API takes no request bodies; larger ones are answered 413.
  std::uint64_t body_limit = 16 * 1024;
  // Time to receive one whole request, including the idle keep-alive wait.
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds write_timeout{30};
  // After this many requests the connection is closed, so one client cannot
  // pin a connection (and its strand) forever.
  unsigned max_requests_per_connection = 1000;
};

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  // `slot` counts the connection until its socket closes (it goes with a
  // hand-off); `proxies` decides whose forwarding header names the client.
  http_session(connection_socket&& socket, std::shared_ptr<http_service> service, const http_limits& limits,
               connection_slot slot = {}, std::shared_ptr<const trusted_proxies> proxies = nullptr);

  // Starts reading on the session's strand.
  void run();

  // Graceful stop, callable from any thread: an idle connection is closed
  // now; a request being answered is finished first, then the connection closes.
  void shutdown();

 private:
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  // Names the client of `req` when the peer is a trusted proxy; false when
  // that client already holds all the connections one address may.
  [[nodiscard]] bool identify_client(const http_request& req);
  void reject(http_response res, http::status status);
  void send(http_response res);
  void on_write(bool close, beast::error_code ec, std::size_t bytes);
  void do_close();

  connection_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<http_service> service_;
  http_limits limits_;
  connection_slot slot_;
  std::shared_ptr<const trusted_proxies> proxies_;
  net::ip::address peer_;
  request_info info_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http_response response_;  // kept alive while it is written
  unsigned requests_ = 0;
  bool reading_ = false;
  bool stopping_ = false;
};

}  // namespace progress::bridge
