#pragma once
// The live streams' front door (docs/protocol.md): GET /api/v1/ws (WebSocket)
// and GET /api/v1/users/{userId}/stream (SSE, "*" for every user). A stream
// is admitted like a REST request (route_table: rate limit, bearer token;
// here the read rule of the access_policy) before any upgrade, so a bad token
// is an HTTP 401 and another user's stream an HTTP 403; then the connection
// leaves its HTTP session for a websocket_session or an sse_session.
#include <memory>
#include <optional>
#include <string>

#include "access_policy.hpp"
#include "api_call.hpp"
#include "cors_policy.hpp"
#include "http_service.hpp"
#include "metrics.hpp"
#include "stream_hub.hpp"
#include "stream_session.hpp"

namespace progress::bridge {

class stream_routes {
 public:
  // `metrics` and `access` must outlive the routes and every stream they open.
  stream_routes(std::shared_ptr<stream_hub> hub, metrics& metrics, const access_policy& access,
                stream_options options, const cors_policy& cors);

  [[nodiscard]] http_answer websocket(const api_call& call) const;
  [[nodiscard]] http_answer sse(const api_call& call) const;

 private:
  struct resume_point {
    std::optional<std::uint64_t> after;  // the revision of a cursor valid here
    std::string cursor;                  // as the client gave it
  };
  // The cursor to resume from: ?cursor=, or for SSE the Last-Event-ID header.
  [[nodiscard]] resume_point resume_from(const api_call& call, bool last_event_id) const;

  std::shared_ptr<stream_hub> hub_;
  metrics& metrics_;
  const access_policy& access_;
  std::shared_ptr<const stream_options> options_;  // shared by every stream opened here
  const cors_policy& cors_;
};

}  // namespace progress::bridge
