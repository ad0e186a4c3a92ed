#pragma once
// The sockets of the test clients (HTTP, WebSocket, SSE), with Asio and Beast
// as the bridge includes them.

#include <fcntl.h>

#include <string>

#include "asio.hpp"

namespace progress::test {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;

// Opens `socket` for IPv4, closed on exec: a broker or bridge the test starts
// later must not inherit the client's connection, or closing it here would not
// end it. With a `source` address (any of 127.0.0.0/8) the connection comes
// from there, as if from another client machine.
inline beast::error_code open_client_socket(net::ip::tcp::socket& socket, const std::string& source = {}) {
  beast::error_code ec;
  socket.open(net::ip::tcp::v4(), ec);
  if (!ec && ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC) != 0)
    ec.assign(errno, beast::system_category());
  if (!ec && !source.empty()) socket.bind(net::ip::tcp::endpoint{net::ip::make_address(source, ec), 0}, ec);
  return ec;
}

}  // namespace progress::test
