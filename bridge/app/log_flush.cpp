#include "log_flush.hpp"

#include "rate_limited_log.hpp"

namespace progress::bridge {

log_flush::log_flush(net::io_context& ioc) : timer_(net::make_strand(ioc)) {}

void log_flush::start() {
  net::dispatch(timer_.get_executor(), [self = shared_from_this()] { self->arm(); });
}

void log_flush::stop() {
  net::dispatch(timer_.get_executor(), [self = shared_from_this()] {
    self->stopped_ = true;
    self->timer_.cancel();
    outsider_log().flush(rate_limited_log::clock::now() + outsider_log().window());
  });
}

void log_flush::arm() {
  timer_.expires_after(outsider_log().window());
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->stopped_) return;
    outsider_log().flush(rate_limited_log::clock::now());
    self->arm();
  });
}

}  // namespace progress::bridge
