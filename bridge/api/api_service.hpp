#pragma once
// The bridge's HTTP front door: one route table for the REST API, the live
// streams and the probes (the constructor lists every route), then the static
// files of the dashboard for what no route matches.
//
// Every request goes through the same steps, in this order: CORS preflight,
// route match (404 / 405), the client's request rate (routes under /api/),
// query string (400), bearer token (401, on routes that need one; from the
// Authorization header only on routes that change something, so that another
// site cannot make a browser send one), then the route's handler, which
// applies the access rule (400 / 403) and answers or hands the connection to
// a stream. Each answer gets CORS headers and is
// counted in metrics under its route pattern.
#include <functional>
#include <memory>

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

  [[nodiscard]] http_answer serve(const http_request& req, const request_info& info) override;
  void on_rejected(http::status status, const request_info& info) override;

 private:
  struct route {
    // open: no token; token: from the Authorization header or the access_token
    // parameter; header_token: from the Authorization header only.
    enum class access { open, token, header_token };
    access needs = access::token;
    std::function<http_answer(const api_call&)> handler;
  };

  [[nodiscard]] http_answer dispatch(const http_request& req, const request_info& info,
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
  router<route> routes_;
};

}  // namespace progress::bridge
