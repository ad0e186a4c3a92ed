#pragma once
// Accepts connections and starts an http_session for each, every socket on
// its own strand so one connection's handlers never run concurrently.
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "http_service.hpp"
#include "http_session.hpp"
#include "http_types.hpp"

namespace progress::bridge {

class listener : public std::enable_shared_from_this<listener> {
 public:
  // Connections beyond this are closed right after accept: each one costs
  // buffers and a file descriptor.
  static constexpr std::size_t default_max_connections = 1024;

  // Opens, binds and listens; on failure `ec` is set and run() does nothing.
  listener(net::io_context& ioc, const tcp::endpoint& endpoint, std::shared_ptr<http_service> service,
           const http_limits& limits, beast::error_code& ec,
           std::size_t max_connections = default_max_connections);

  // The bound address; with port 0 this carries the port the OS chose.
  [[nodiscard]] tcp::endpoint local_endpoint() const;

  void run();

  // Connections that left their HTTP session (live streams) still count
  // towards max_connections: `count` tells how many there are.
  void count_also(std::function<std::size_t()> count) { other_connections_ = std::move(count); }

  // Stops accepting and asks every open session to finish and close.
  // Callable from any thread.
  void stop();

 private:
  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  [[nodiscard]] std::size_t live_sessions();

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  std::shared_ptr<http_service> service_;
  http_limits limits_;
  std::size_t max_connections_;
  std::function<std::size_t()> other_connections_;
  std::mutex mutex_;  // guards sessions_ and stopped_
  std::vector<std::weak_ptr<http_session>> sessions_;
  bool stopped_ = false;
};

}  // namespace progress::bridge
