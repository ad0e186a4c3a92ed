#pragma once
// The application side of an HTTP connection. http_session owns the socket
// and the protocol; an http_service turns requests into responses. Handlers
// run on the connection's strand, concurrently across connections, so
// implementations must be thread-safe and must not block.
#include <functional>

#include "http_types.hpp"

namespace progress::bridge {

// Takes over a connection for a protocol that outlives one response
// (WebSocket upgrade, server-sent events). It receives the stream, the
// request that asked for it and any bytes already read past that request.
using stream_handoff =
    std::function<void(beast::tcp_stream stream, http_request req, beast::flat_buffer buffer)>;

class http_service {
 public:
  virtual ~http_service() = default;

  // The answer to one request.
  [[nodiscard]] virtual http_response handle(const http_request& req, const request_info& info) = 0;

  // A handoff when `req` switches the connection to another protocol;
  // empty (the default) to answer it with handle().
  [[nodiscard]] virtual stream_handoff take_over(const http_request& /*req*/, const request_info& /*info*/) {
    return {};
  }

  // Told about requests the session answered itself (413, 431), so they are
  // counted like any other.
  virtual void on_rejected(http::status /*status*/, const request_info& /*info*/) {}
};

}  // namespace progress::bridge
