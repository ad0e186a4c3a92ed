#include "listener.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace progress::bridge {

listener::listener(net::io_context& ioc, const tcp::endpoint& endpoint, std::shared_ptr<http_service> service,
                   const http_limits& limits, beast::error_code& ec, std::size_t max_connections)
    : ioc_(ioc),
      acceptor_(net::make_strand(ioc)),
      service_(std::move(service)),
      limits_(limits),
      max_connections_(max_connections) {
  ec = {};
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    acceptor_.close(ignored);
  }
}

tcp::endpoint listener::local_endpoint() const {
  beast::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void listener::run() {
  if (!acceptor_.is_open()) return;
  net::dispatch(acceptor_.get_executor(),
                beast::bind_front_handler(&listener::do_accept, shared_from_this()));
}

void listener::stop() {
  std::vector<std::weak_ptr<http_session>> sessions;
  {
    std::lock_guard lock{mutex_};
    stopped_ = true;
    sessions.swap(sessions_);
  }
  net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
    beast::error_code ec;
    self->acceptor_.close(ec);
  });
  for (auto& weak : sessions) {
    if (auto session = weak.lock()) session->shutdown();
  }
}

void listener::do_accept() {
  // Each connection gets its own strand.
  acceptor_.async_accept(net::make_strand(ioc_),
                         beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

std::size_t listener::live_sessions() {
  std::erase_if(sessions_, [](const auto& weak) { return weak.expired(); });
  return sessions_.size();
}

void listener::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted) return;  // stop()
  if (ec) {
    spdlog::warn("accept: {}", ec.message());
  } else {
    std::unique_lock lock{mutex_};
    if (stopped_) return;
    const std::size_t others = other_connections_ ? other_connections_() : 0;
    if (live_sessions() + others >= max_connections_) {
      lock.unlock();
      spdlog::warn("connection limit ({}) reached, closing a new connection", max_connections_);
      socket.close(ec);
    } else {
      auto session = std::make_shared<http_session>(std::move(socket), service_, limits_);
      sessions_.push_back(session);
      lock.unlock();
      session->run();
    }
  }
  do_accept();
}

}  // namespace progress::bridge
