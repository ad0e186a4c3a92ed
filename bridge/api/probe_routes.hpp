#pragma once
// What an orchestrator and a monitoring system ask: liveness, readiness and
// the Prometheus scrape (docs/api.md). Open routes: no token, no rate limit,
// so an overloaded bridge can still be seen.
#include <functional>

#include "api_call.hpp"
#include "metrics.hpp"

namespace progress::bridge {

class probe_routes {
 public:
  // True once the bridge has loaded the broker's retained state, until it
  // starts draining for shutdown (/readyz).
  using readiness = std::function<bool()>;

  // `metrics` must outlive the routes.
  probe_routes(metrics& metrics, readiness ready);

  [[nodiscard]] http_response healthz(const api_call& call) const;
  [[nodiscard]] http_response readyz(const api_call& call) const;
  [[nodiscard]] http_response scrape_metrics(const api_call& call) const;

 private:
  metrics& metrics_;
  readiness ready_;
};

}  // namespace progress::bridge
