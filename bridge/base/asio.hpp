#pragma once
// Asio and Beast for the whole bridge, and the names every area uses for them.
// Include this rather than Boost's headers: GCC 12 reports a false "potential
// null pointer dereference" inside Asio's scheduler once it is inlined at -O2,
// and this is the one place that silences it, for Asio's and Beast's code only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace progress::bridge {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Every connection runs on a strand of its own, named by its concrete type.
// Wrapped in the type-erased net::any_io_executor, a strand is copied to the
// heap each time it is wrapped and reference-counted at each copy; sockets,
// streams and their pending operations would hold several such copies each.
using connection_executor = net::strand<net::io_context::executor_type>;
using connection_socket = net::basic_stream_socket<tcp, connection_executor>;
using connection_stream = beast::basic_stream<tcp, connection_executor>;

}  // namespace progress::bridge
