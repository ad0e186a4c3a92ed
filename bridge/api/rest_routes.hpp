#pragma once
// The REST endpoints over the job store (docs/api.md). Each handler gets an
// authenticated call (route_table) and applies the read rule of the
// access_policy before touching the store.
//
// Job JSON is never re-serialised: list and detail bodies are concatenations
// of the JSON strings the store built once per accepted update.
#include "access_policy.hpp"
#include "api_call.hpp"
#include "job_store.hpp"

namespace progress::bridge {

class rest_routes {
 public:
  // `store` and `access` must outlive the routes.
  rest_routes(const job_store& store, const access_policy& access);

  [[nodiscard]] http_response list_user_jobs(const api_call& call) const;
  [[nodiscard]] http_response get_job(const api_call& call) const;
  [[nodiscard]] http_response get_job_events(const api_call& call) const;
  [[nodiscard]] http_response get_user_stats(const api_call& call) const;
  [[nodiscard]] http_response list_all_jobs(const api_call& call) const;
  [[nodiscard]] http_response get_session(const api_call& call) const;

 private:
  // Fills status / type / limit / cursor of a listing; the 400 to answer on bad input.
  [[nodiscard]] std::optional<http_response> read_filters(const api_call& call, job_query& query) const;
  [[nodiscard]] http_response page_response(const api_call& call, const job_page& page) const;

  const job_store& store_;
  const access_policy& access_;
};

}  // namespace progress::bridge
