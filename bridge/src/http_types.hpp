#pragma once
// Names shared by the HTTP layer: one request and one response type for the
// whole bridge, so handlers, the session and tests agree on them.
#include <chrono>
#include <string>

// GCC 12 reports a false "potential null pointer dereference" inside Asio's
// scheduler once it is inlined at -O2; silence it for Asio's code only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace progress::bridge {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

// What the transport knows about a request besides its bytes.
struct request_info {
  std::string remote_address;  // client IP as text, used as the rate-limit key
  std::chrono::steady_clock::time_point received_at;
};

}  // namespace progress::bridge
