#include "probe_routes.hpp"

#include <nlohmann/json.hpp>

#include "build_info.hpp"
#include "http_error.hpp"

namespace progress::bridge {

probe_routes::probe_routes(metrics& metrics, readiness ready) : metrics_(metrics), ready_(std::move(ready)) {}

http_response probe_routes::healthz(const api_call& call) const {
  const nlohmann::json body = {{"status", "ok"}, {"version", version()}};
  return json_response(call.req, http::status::ok, body.dump());
}

http_response probe_routes::readyz(const api_call& call) const {
  if (!ready_ || !ready_())
    return service_unavailable(call.req, "not connected to the broker, still loading jobs, or draining before shutdown");
  return json_response(call.req, http::status::ok, R"({"status":"ready"})");
}

http_response probe_routes::scrape_metrics(const api_call& call) const {
  http_response res{http::status::ok, call.req.version()};
  res.set(http::field::content_type, "text/plain; version=0.0.4");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(call.req.keep_alive());
  res.body() = metrics_.scrape();
  res.prepare_payload();
  return res;
}

}  // namespace progress::bridge
