#pragma once
// Boost.Asio and Boost.Beast for the test clients, in one place.

#include <fcntl.h>

// GCC 12 misreports a null dereference inside Asio's scheduler once inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace progress::test {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;

// Opens `socket` for IPv4, closed on exec: a broker or bridge the test starts
// later must not inherit the client's connection, or closing it here would not
// end it.
inline beast::error_code open_client_socket(net::ip::tcp::socket& socket) {
  beast::error_code ec;
  socket.open(net::ip::tcp::v4(), ec);
  if (!ec && ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC) != 0)
    ec.assign(errno, beast::system_category());
  return ec;
}

}  // namespace progress::test
