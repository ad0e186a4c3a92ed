#include "listener.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include "rate_limited_log.hpp"

namespace progress::bridge {

namespace {

int open_reserve_descriptor() {
  return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

bool out_of_descriptors(const beast::error_code& ec) {
  return ec == net::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system;
}

std::string open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return "unknown";
  return std::to_string(limit.rlim_cur);
}

}  // namespace

listener::listener(net::io_context& ioc, const tcp::endpoint& endpoint, std::shared_ptr<http_service> service,
                   listener_options options, beast::error_code& ec)
    : ioc_(ioc),
      acceptor_(net::make_strand(ioc)),
      backoff_timer_(acceptor_.get_executor()),
      reserve_descriptor_(open_reserve_descriptor()),
      service_(std::move(service)),
      options_(std::move(options)),
      table_(std::make_shared<connection_table>(options_.connections)) {
  ec = {};
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  // Synchronous accepts (shed_waiting) return at once when nobody waits.
  if (!ec) acceptor_.non_blocking(true, ec);
  if (ec) {
    beast::error_code ignored;
    acceptor_.close(ignored);
  }
}

listener::~listener() {
  if (reserve_descriptor_ >= 0) ::close(reserve_descriptor_);
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
    self->backoff_timer_.cancel();
  });
  for (auto& weak : sessions) {
    if (auto session = weak.lock()) session->shutdown();
  }
}

void listener::do_accept() {
  if (!acceptor_.is_open()) return;
  // Each connection gets its own strand.
  acceptor_.async_accept(net::make_strand(ioc_),
                         beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

void listener::on_accept(beast::error_code ec, connection_socket socket) {
  if (ec == net::error::operation_aborted) return;  // stop()
  // A client that gave up while waiting in the backlog: nothing is wrong here.
  if (ec == net::error::connection_aborted) return do_accept();
  if (ec) return on_accept_error(ec);
  backoff_ = first_accept_backoff;
  admit(std::move(socket));
  do_accept();
}

void listener::admit(connection_socket socket) {
  beast::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  if (ec) return;  // already gone; the socket closes here
  const auto address = plain_address(peer.address());
  // A trusted proxy speaks for many clients: each request names its own (http_session).
  const bool proxied = options_.proxies && options_.proxies->trusts(address);
  connection_refusal refusal{};
  auto slot = table_->admit(proxied ? std::string() : client_key(address), refusal);
  if (!slot) return refuse(socket, refusal, address.to_string());
  std::lock_guard lock{mutex_};
  if (stopped_) return;
  std::erase_if(sessions_, [](const auto& weak) { return weak.expired(); });
  auto session = std::make_shared<http_session>(std::move(socket), service_, options_.limits, std::move(slot),
                                                options_.proxies);
  sessions_.push_back(session);
  session->run();
}

void listener::refuse(connection_socket& socket, connection_refusal why, const std::string& address) {
  service_->on_connection_refused(to_string(why));
  if (why == connection_refusal::per_address) {
    outsider_log().log("address_cap", spdlog::level::warn,
                       "{}: {} has {} connections open, the most one address may; closing a new one",
                       options_.name, address, options_.connections.max_per_address);
  } else {
    outsider_log().log("connection_cap", spdlog::level::warn,
                       "{}: {} connections open, the most allowed; closing a new one from {}", options_.name,
                       options_.connections.max_connections, address);
  }
  beast::error_code ignored;
  socket.close(ignored);
}

void listener::on_accept_error(beast::error_code ec) {
  const auto wait = backoff_;
  backoff_ = std::min(backoff_ * 2, max_accept_backoff);
  if (out_of_descriptors(ec)) {
    const auto shed = shed_waiting();
    for (std::size_t i = 0; i < shed; ++i) service_->on_connection_refused("descriptors");
    outsider_log().log("accept", spdlog::level::warn,
                       "{}: accept: {} (open-file limit {}, {} connections open): closed {} waiting "
                       "connections, accepting again in {} ms",
                       options_.name, ec.message(), open_file_limit(), table_->open(), shed, wait.count());
  } else {
    outsider_log().log("accept", spdlog::level::warn, "{}: accept: {}; accepting again in {} ms",
                       options_.name, ec.message(), wait.count());
  }
  backoff_timer_.expires_after(wait);
  backoff_timer_.async_wait([self = shared_from_this()](beast::error_code timer_ec) {
    if (!timer_ec) self->do_accept();
  });
}

std::size_t listener::shed_waiting() {
  if (reserve_descriptor_ < 0) reserve_descriptor_ = open_reserve_descriptor();
  if (reserve_descriptor_ < 0) return 0;
  ::close(reserve_descriptor_);
  std::size_t shed = 0;
  for (; shed < max_shed_per_backoff; ++shed) {
    tcp::socket waiting{ioc_};
    beast::error_code ec;
    acceptor_.accept(waiting, ec);  // non-blocking: would_block once the backlog is empty
    if (ec) break;
    waiting.close(ec);
  }
  reserve_descriptor_ = open_reserve_descriptor();
  return shed;
}

}  // namespace progress::bridge
