#pragma once
// The bridge's HTTP front door: one route table for the REST API, the live
// streams and the probes (the constructor lists every route, each with the
// listener that serves it), then the static files of the dashboard for what no
// public route matches. The probes and the metrics are served on the admin
// listener only (--admin-listen, admin_door), so a full or exposed public
// listener can neither starve nor reach them.
//
// Every request goes through the same steps, in this order: CORS preflight,
// route match (404 / 405), the client's request rate (routes under /api/),
// query string (400), bearer token (401, on routes that need one; from the
// Authorization header only on routes that change something, so that another
// site cannot make a browser send one), then the route's handler, which
// applies the access rule (400 / 403) and answers or hands the connection to
// a stream. Each answer gets CORS headers and is
// counted in metrics under its route pattern.
#include <array>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "access_policy.hpp"
#include "api_call.hpp"
#include "cancel_routes.hpp"
#include "cors_policy.hpp"
#include "http_service.hpp"
#include "metrics.hpp"
#include "probe_routes.hpp"
#include "rest_routes.hpp"
#include "router.hpp"
#include "static_files.hpp"
#include "stream_routes.hpp"

namespace progress::bridge {

// Which listener serves a route.
enum class listener_kind { public_api, admin };

struct api_options {
  std::vector<std::string> cors_origins;
  stream_options streams;
  // The way to the workers for cancel requests; without one, cancel answers 503.
  cancel_channel cancel;
};

class api_service : public http_service {
 public:
  // `files` may be null (no dashboard). `store`, `metrics` and `access` must
  // outlive the service and every stream it opens.
  api_service(const job_store& store, std::shared_ptr<stream_hub> hub, metrics& metrics,
              access_policy& access, std::shared_ptr<const static_files> files, probe_routes::readiness ready,
              api_options options);

  // The public listener's requests.
  [[nodiscard]] http_answer serve(const http_request& req, const request_info& info) override;
  void on_rejected(http::status status, const request_info& info) override;
  void on_connection_refused(std::string_view reason) override;

  // The admin listener's requests (admin_door).
  [[nodiscard]] http_answer serve_admin(const http_request& req, const request_info& info);
  void count_refused(listener_kind where, std::string_view reason);

 private:
  struct route {
    // open: no token; token: from the Authorization header or the access_token
    // parameter; header_token: from the Authorization header only.
    enum class access { open, token, header_token };
    access needs = access::token;
    std::function<http_answer(const api_call&)> handler;
  };

  void add(listener_kind where, http::verb method, std::string pattern, route r);
  [[nodiscard]] http_answer dispatch(listener_kind where, const http_request& req, const request_info& info,
                                     std::string_view& label);
  void count(std::string_view label, const http_answer& answer, const http_request& req,
             const request_info& info);

  metrics& metrics_;
  access_policy& access_;
  std::shared_ptr<const static_files> files_;
  cors_policy cors_;
  rest_routes rest_;
  cancel_routes cancel_;
  probe_routes probes_;
  stream_routes streams_;
  std::array<router<route>, 2> routes_;  // by listener_kind
};

// The admin listener's service: the routes of the one table marked admin.
class admin_door final : public http_service {
 public:
  explicit admin_door(std::shared_ptr<api_service> api) : api_(std::move(api)) {}

  [[nodiscard]] http_answer serve(const http_request& req, const request_info& info) override {
    return api_->serve_admin(req, info);
  }
  void on_rejected(http::status status, const request_info& info) override {
    api_->on_rejected(status, info);
  }
  void on_connection_refused(std::string_view reason) override {
    api_->count_refused(listener_kind::admin, reason);
  }

 private:
  std::shared_ptr<api_service> api_;
};

}  // namespace progress::bridge
