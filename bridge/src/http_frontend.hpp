#pragma once
// The bridge's HTTP front door: sends each request to the live streams
// (WebSocket upgrade at /api/v1/ws, SSE at /api/v1/users/{userId}/stream),
// the REST API, or the static files of the dashboard.
//
// A stream is admitted like a REST request (rate limit, bearer token,
// isolation rules) before any upgrade, so a bad token is an HTTP 401 and
// another user's stream an HTTP 403; then the connection leaves the HTTP
// session for a websocket_session or an sse_session.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cors_policy.hpp"
#include "http_service.hpp"
#include "metrics.hpp"
#include "rest_api.hpp"
#include "static_files.hpp"
#include "stream_hub.hpp"
#include "stream_session.hpp"

namespace progress::bridge {

class http_frontend : public http_service {
 public:
  // `files` may be null (no dashboard). `metrics` must outlive the frontend.
  http_frontend(std::shared_ptr<rest_api> api, std::shared_ptr<stream_hub> hub,
                std::shared_ptr<const static_files> files, metrics& metrics, stream_options streams,
                std::vector<std::string> cors_origins);

  [[nodiscard]] http_response handle(const http_request& req, const request_info& info) override;
  [[nodiscard]] stream_handoff take_over(const http_request& req, const request_info& info) override;
  void on_rejected(http::status status, const request_info& info) override;

 private:
  enum class stream_kind { websocket, sse };
  struct admission;

  // The stream `req` asks for, or the HTTP answer refusing it.
  [[nodiscard]] stream_handoff admit(stream_kind kind, std::string_view user_id, const http_request& req,
                                     const request_info& info);
  [[nodiscard]] stream_handoff refuse(http_response res, std::string_view route, const request_info& info);

  std::shared_ptr<rest_api> api_;
  std::shared_ptr<stream_hub> hub_;
  std::shared_ptr<const static_files> files_;
  metrics& metrics_;
  stream_options streams_;
  cors_policy cors_;
};

}  // namespace progress::bridge
