#include "http_session.hpp"

#include "http_error.hpp"
#include "rate_limited_log.hpp"

namespace progress::bridge {

http_session::http_session(connection_socket&& socket, std::shared_ptr<http_service> service,
                           const http_limits& limits, connection_slot slot,
                           std::shared_ptr<const trusted_proxies> proxies)
    : stream_(std::move(socket)),
      service_(std::move(service)),
      limits_(limits),
      slot_(std::move(slot)),
      proxies_(std::move(proxies)) {
  beast::error_code ec;
  const auto remote = stream_.socket().remote_endpoint(ec);
  if (!ec) peer_ = plain_address(remote.address());
  info_.remote_address = ec ? std::string("unknown") : peer_.to_string();
  info_.client_key = ec ? info_.remote_address : client_key(peer_);
  if (proxies_ && !proxies_->trusts(peer_)) proxies_.reset();  // nothing to look up per request
}

void http_session::run() {
  net::dispatch(stream_.get_executor(),
                beast::bind_front_handler(&http_session::do_read, shared_from_this()));
}

void http_session::shutdown() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    self->stopping_ = true;
    // Only an idle wait is cut short; a request in progress finishes, and
    // on_write closes afterwards.
    if (self->reading_) self->stream_.cancel();
  });
}

void http_session::do_read() {
  if (stopping_) return do_close();
  // A fresh parser per request: the limits apply to each request separately.
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(limits_.header_limit));
  parser_->body_limit(limits_.body_limit);
  stream_.expires_after(limits_.read_timeout);
  reading_ = true;
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

void http_session::on_read(beast::error_code ec, std::size_t /*bytes*/) {
  reading_ = false;
  if (ec == http::error::end_of_stream || ec == net::error::operation_aborted ||
      ec == beast::error::timeout) {
    return do_close();
  }
  if (ec == http::error::body_limit) {
    const http_request& partial = parser_->get();
    return reject(payload_too_large(partial), http::status::payload_too_large);
  }
  if (ec == http::error::header_limit) {
    http_request minimal{http::verb::get, "/", 11};
    return reject(header_fields_too_large(minimal), http::status::request_header_fields_too_large);
  }
  if (ec) {
    // Malformed HTTP: nothing sensible can be parsed after it.
    outsider_log().log("http_read", spdlog::level::debug, "http read from {}: {}", info_.remote_address,
                       ec.message());
    if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
      http_request minimal{http::verb::get, "/", 11};
      auto res = bad_request(minimal, "malformed request");
      res.keep_alive(false);
      return reject(std::move(res), http::status::bad_request);
    }
    return do_close();
  }

  info_.received_at = std::chrono::steady_clock::now();
  http_request req = parser_->release();
  if (!identify_client(req)) {
    service_->on_connection_refused(to_string(connection_refusal::per_address));
    return reject(too_many_connections(req), http::status::service_unavailable);
  }
  auto answer = service_->serve(req, info_);
  if (auto* handoff = std::get_if<stream_handoff>(&answer)) {
    // The stream leaves this session; the session ends when this call returns.
    stream_.expires_never();
    (*handoff)(std::move(stream_), std::move(req), std::move(buffer_), std::move(slot_));
    return;
  }
  ++requests_;
  auto& res = std::get<http_response>(answer);
  if (requests_ >= limits_.max_requests_per_connection || stopping_) res.keep_alive(false);
  send(std::move(res));
}

bool http_session::identify_client(const http_request& req) {
  if (!proxies_) return true;
  const auto client = proxies_->client_of(peer_, req);
  info_.remote_address = client.to_string();
  info_.client_key = client_key(client);
  if (slot_.rekey(info_.client_key)) return true;
  outsider_log().log("address_cap", spdlog::level::warn,
                     "{} (through proxy {}) has all the connections one address may; answering 503",
                     info_.remote_address, peer_.to_string());
  return false;
}

void http_session::reject(http_response res, http::status status) {
  service_->on_rejected(status, info_);
  res.keep_alive(false);
  send(std::move(res));
}

void http_session::send(http_response res) {
  response_ = std::move(res);
  const bool close = response_.need_eof();
  stream_.expires_after(limits_.write_timeout);
  http::async_write(stream_, response_,
                    beast::bind_front_handler(&http_session::on_write, shared_from_this(), close));
}

void http_session::on_write(bool close, beast::error_code ec, std::size_t /*bytes*/) {
  if (ec) {
    outsider_log().log("http_write", spdlog::level::debug, "http write to {}: {}", info_.remote_address,
                       ec.message());
    return do_close();
  }
  if (close || stopping_) return do_close();
  // An idle connection of a proxy's keep-alive pool is nobody's until its next request.
  if (proxies_) (void)slot_.rekey({});
  response_ = {};
  do_read();
}

void http_session::do_close() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.close();
}

}  // namespace progress::bridge
