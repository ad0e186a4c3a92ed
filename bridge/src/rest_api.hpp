#pragma once
// The REST endpoints (docs/api.md) over the job store, plus the probes and
// the metrics scrape. Cross-cutting rules live here in one place: CORS,
// per-client rate limiting, bearer-token authentication, id validation, the
// 401 / 403 isolation rules and request metrics.
//
// Job JSON is never re-serialised: list and detail bodies are concatenations
// of the JSON strings the store built once per accepted update.
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cors_policy.hpp"
#include "http_service.hpp"
#include "job_store.hpp"
#include "jwt_verifier.hpp"
#include "metrics.hpp"
#include "principal.hpp"
#include "query_string.hpp"
#include "rate_limiter.hpp"
#include "router.hpp"

namespace progress::bridge {

struct rest_api_options {
  std::vector<std::string> cors_origins;
  // Requests per second each client address may make to /api/...; 0 disables limiting.
  double rate_limit = 20;
  double rate_limit_burst = 40;
  // Client addresses tracked by the limiter (see rate_limiter for when it is full).
  std::size_t rate_limit_max_clients = 10000;
};

class rest_api : public http_service {
 public:
  // True once the bridge has loaded the broker's retained state (/readyz).
  using readiness = std::function<bool()>;

  // `store`, `metrics` and `verifier` must outlive the rest_api.
  rest_api(const job_store& store, metrics& metrics, const jwt_verifier& verifier, readiness ready,
           rest_api_options options);

  [[nodiscard]] http_response handle(const http_request& req, const request_info& info) override;
  void on_rejected(http::status status, const request_info& info) override;

  // The principal a request's bearer token speaks for (Authorization header,
  // or the access_token query parameter for clients that cannot set headers),
  // or the 401 to answer. Counts failures in metrics. Shared with the
  // streaming endpoints so every entry point authenticates the same way.
  [[nodiscard]] std::variant<principal, http_response> authenticate(const http_request& req,
                                                                    const query_params& query) const;
  // The 429 to answer when the client's address is over its request rate;
  // shared with the streaming endpoints, whose opens count as requests.
  [[nodiscard]] std::optional<http_response> rate_limit(const http_request& req, const request_info& info);

 private:
  struct call {
    const http_request& req;
    const route_params& params;
    const query_params& query;
  };
  using handler = http_response (rest_api::*)(const call&) const;

  http_response dispatch(const http_request& req, const request_info& info, std::string_view& route);

  http_response list_user_jobs(const call& c) const;
  http_response get_job(const call& c) const;
  http_response get_job_events(const call& c) const;
  http_response get_user_stats(const call& c) const;
  http_response list_all_jobs(const call& c) const;
  http_response get_session(const call& c) const;
  http_response healthz(const call& c) const;
  http_response readyz(const call& c) const;
  http_response scrape_metrics(const call& c) const;

  // The principal allowed to read `user_id`'s jobs, or the 400 / 401 / 403 to answer.
  std::variant<principal, http_response> authorize_user(const call& c, std::string_view user_id) const;
  // Fills status / type / limit / cursor of a listing; the 400 to answer on bad input.
  std::optional<http_response> read_filters(const call& c, job_query& query) const;
  http_response page_response(const call& c, const job_page& page) const;

  const job_store& store_;
  metrics& metrics_;
  const jwt_verifier& verifier_;
  readiness ready_;
  cors_policy cors_;
  rate_limiter limiter_;
  std::chrono::seconds retry_after_;
  router<handler> routes_;
};

}  // namespace progress::bridge
