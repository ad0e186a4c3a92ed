#pragma once
// Accepts connections and starts an http_session for each, every socket on
// its own strand so one connection's handlers never run concurrently.
//
// Limits at the door (docs/security.md): a connection beyond
// connection_limits (in total, or from one client key) is closed right after
// accept. When accept fails for want of file descriptors (EMFILE, ENFILE) the
// listener does not retry at once, which would spin: it frees a descriptor it
// keeps in reserve, accepts and closes the connections waiting in the backlog
// so their clients learn at once, takes the reserve again and waits
// (`first_accept_backoff`, doubling up to `max_accept_backoff`) before
// accepting again. Every refusal is counted (http_service::on_connection_refused)
// and logged through the one rate-limited log.
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client_address.hpp"
#include "connection_table.hpp"
#include "http_service.hpp"
#include "http_session.hpp"
#include "http_types.hpp"

namespace progress::bridge {

struct listener_options {
  http_limits limits;
  connection_limits connections;
  // Peers whose forwarding header names the client; null trusts nobody.
  std::shared_ptr<const trusted_proxies> proxies;
  // Names the listener in logs ("http", "admin").
  std::string name = "http";
};

class listener : public std::enable_shared_from_this<listener> {
 public:
  static constexpr std::chrono::milliseconds first_accept_backoff{50};
  static constexpr std::chrono::milliseconds max_accept_backoff{1000};
  // Waiting connections closed per exhaustion, at most, before the backoff.
  static constexpr std::size_t max_shed_per_backoff = 256;

  // Opens, binds and listens; on failure `ec` is set and run() does nothing.
  listener(net::io_context& ioc, const tcp::endpoint& endpoint, std::shared_ptr<http_service> service,
           listener_options options, beast::error_code& ec);
  ~listener();

  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;

  // The bound address; with port 0 this carries the port the OS chose.
  [[nodiscard]] tcp::endpoint local_endpoint() const;

  // Connections open now: HTTP sessions and the live streams they became.
  [[nodiscard]] std::size_t open_connections() const { return table_->open(); }

  void run();

  // Stops accepting and asks every open session to finish and close.
  // Callable from any thread.
  void stop();

 private:
  void do_accept();
  void on_accept(beast::error_code ec, connection_socket socket);
  void admit(connection_socket socket);
  void on_accept_error(beast::error_code ec);
  [[nodiscard]] std::size_t shed_waiting();
  void refuse(connection_socket& socket, connection_refusal why, const std::string& address);

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer backoff_timer_;  // on the acceptor's strand
  std::chrono::milliseconds backoff_ = first_accept_backoff;
  int reserve_descriptor_ = -1;  // freed to accept-and-close when descriptors run out
  std::shared_ptr<http_service> service_;
  listener_options options_;
  std::shared_ptr<connection_table> table_;
  std::mutex mutex_;  // guards sessions_ and stopped_
  std::vector<std::weak_ptr<http_session>> sessions_;
  bool stopped_ = false;
};

}  // namespace progress::bridge
