#pragma once
// The application side of an HTTP connection. http_session owns the socket
// and the protocol; an http_service turns each request into an answer.
// Handlers run on the connection's strand, concurrently across connections,
// so implementations must be thread-safe and must not block.
#include <functional>
#include <string_view>
#include <variant>

#include "connection_table.hpp"
#include "http_types.hpp"

namespace progress::bridge {

// Takes over a connection for a protocol that outlives one response
// (WebSocket upgrade, server-sent events). It receives the stream, the
// request that asked for it, any bytes already read past that request, and the
// connection's slot, which whoever owns the socket keeps until it closes.
using stream_handoff = std::function<void(connection_stream stream, http_request req,
                                          beast::flat_buffer buffer, connection_slot slot)>;

// A response to write, or the hand-off of the connection to a stream.
using http_answer = std::variant<http_response, stream_handoff>;

class http_service {
 public:
  virtual ~http_service() = default;

  [[nodiscard]] virtual http_answer serve(const http_request& req, const request_info& info) = 0;

  // Told about requests the session answered itself (413, 431), so they are
  // counted like any other.
  virtual void on_rejected(http::status /*status*/, const request_info& /*info*/) {}

  // Told about connections refused for a connection limit, with the reason
  // ("max_connections", "per_address", "descriptors"), so they are counted.
  virtual void on_connection_refused(std::string_view /*reason*/) {}
};

}  // namespace progress::bridge
