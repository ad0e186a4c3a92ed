#pragma once
// Reports, once per window of the outsider log (rate_limited_log), the lines
// it suppressed in windows that have ended: without it, a flood that stopped
// would be told only by the next line of its kind. Lifetime: owned by a
// std::shared_ptr; stop() before dropping it.
#include <memory>

#include "asio.hpp"

namespace progress::bridge {

class log_flush : public std::enable_shared_from_this<log_flush> {
 public:
  explicit log_flush(net::io_context& ioc);

  void start();
  void stop();

 private:
  void arm();

  net::steady_timer timer_;  // on its own strand
  bool stopped_ = false;     // strand only
};

}  // namespace progress::bridge
