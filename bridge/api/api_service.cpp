#include "api_service.hpp"

#include <spdlog/spdlog.h>

#include "access_answers.hpp"
#include "http_error.hpp"

namespace progress::bridge {

namespace {

// Metric labels of answers no route gave: keep the label set small.
constexpr std::string_view unmatched_label = "unmatched";
constexpr std::string_view static_label = "static";

// The status a handed-off stream starts with: 101 for a WebSocket upgrade,
// 200 for an SSE response.
unsigned handoff_status(const http_request& req) {
  return websocket::is_upgrade(req) ? 101 : 200;
}

std::string_view to_string(listener_kind where) {
  return where == listener_kind::admin ? "admin" : "public";
}

}  // namespace

api_service::api_service(const job_store& store, std::shared_ptr<stream_hub> hub, metrics& metrics,
                         access_policy& access, std::shared_ptr<const static_files> files,
                         probe_routes::readiness ready, api_options options)
    : metrics_(metrics),
      access_(access),
      files_(std::move(files)),
      cors_(std::move(options.cors_origins)),
      rest_(store, access),
      cancel_(store, access, std::move(options.cancel)),
      probes_(metrics, std::move(ready)),
      streams_(std::move(hub), metrics, access, options.streams, cors_) {
  using http::verb;
  using enum route::access;
  const auto bind = [](const auto* target, auto handler) {
    return [target, handler](const api_call& call) -> http_answer { return (target->*handler)(call); };
  };
  // Every route of the bridge (docs/api.md, docs/protocol.md), with the listener that serves it.
  using enum listener_kind;
  add(public_api, verb::get, "/api/v1/users/{userId}/jobs",
      {token, bind(&rest_, &rest_routes::list_user_jobs)});
  add(public_api, verb::get, "/api/v1/users/{userId}/jobs/{jobId}",
      {token, bind(&rest_, &rest_routes::get_job)});
  add(public_api, verb::get, "/api/v1/users/{userId}/jobs/{jobId}/events",
      {token, bind(&rest_, &rest_routes::get_job_events)});
  add(public_api, verb::post, "/api/v1/users/{userId}/jobs/{jobId}/cancel",
      {header_token, bind(&cancel_, &cancel_routes::cancel_job)});
  add(public_api, verb::get, "/api/v1/users/{userId}/stats",
      {token, bind(&rest_, &rest_routes::get_user_stats)});
  add(public_api, verb::get, "/api/v1/jobs", {token, bind(&rest_, &rest_routes::list_all_jobs)});
  add(public_api, verb::get, "/api/v1/session", {token, bind(&rest_, &rest_routes::get_session)});
  add(public_api, verb::get, "/api/v1/ws", {token, bind(&streams_, &stream_routes::websocket)});
  add(public_api, verb::get, "/api/v1/users/{userId}/stream", {token, bind(&streams_, &stream_routes::sse)});
  add(admin, verb::get, "/healthz", {open, bind(&probes_, &probe_routes::healthz)});
  add(admin, verb::get, "/readyz", {open, bind(&probes_, &probe_routes::readyz)});
  add(admin, verb::get, "/metrics", {open, bind(&probes_, &probe_routes::scrape_metrics)});
}

void api_service::add(listener_kind where, http::verb method, std::string pattern, route r) {
  routes_[static_cast<std::size_t>(where)].add(method, std::move(pattern), std::move(r));
}

http_answer api_service::serve(const http_request& req, const request_info& info) {
  std::string_view label = unmatched_label;
  http_answer answer = dispatch(listener_kind::public_api, req, info, label);
  if (auto* res = std::get_if<http_response>(&answer)) cors_.apply(req, *res);
  count(label, answer, req, info);
  return answer;
}

http_answer api_service::serve_admin(const http_request& req, const request_info& info) {
  std::string_view label = unmatched_label;
  http_answer answer = dispatch(listener_kind::admin, req, info, label);
  count(label, answer, req, info);
  return answer;
}

void api_service::on_rejected(http::status status, const request_info& /*info*/) {
  metrics_.http_request(unmatched_label, static_cast<unsigned>(status), 0.0);
}

void api_service::on_connection_refused(std::string_view reason) {
  count_refused(listener_kind::public_api, reason);
}

void api_service::count_refused(listener_kind where, std::string_view reason) {
  metrics_.connection_refused(to_string(where), reason);
}

http_answer api_service::dispatch(listener_kind where, const http_request& req, const request_info& info,
                                  std::string_view& label) {
  const auto [path, query_text] = split_target(req.target());
  const auto match = routes_[static_cast<std::size_t>(where)].match(req.method(), path);
  if (match.status != route_status::not_found) label = match.pattern;
  // Browsers have no business on the admin listener: no CORS, no dashboard.
  const bool browsers = where == listener_kind::public_api;

  if (browsers && cors_policy::is_preflight(req)) {
    if (match.status == route_status::not_found) return not_found(req, "no such resource");
    return cors_.preflight(req, match.allow.empty() ? "GET, OPTIONS" : match.allow);
  }
  if (browsers && match.status == route_status::not_found && files_ &&
      (req.method() == http::verb::get || req.method() == http::verb::head)) {
    if (auto res = files_->serve(req, path)) {
      label = static_label;
      return std::move(*res);
    }
  }
  if (req.method() == http::verb::options && match.status == route_status::method_not_allowed) {
    // A plain OPTIONS (not a preflight) asks which methods the resource supports.
    http_response res{http::status::no_content, req.version()};
    res.keep_alive(req.keep_alive());
    res.set(http::field::allow, match.allow);
    res.prepare_payload();
    return res;
  }
  // Probes and scrapes are never limited: monitoring must see an overloaded bridge.
  const bool open = match.status == route_status::matched && match.handler->needs == route::access::open;
  if (!open && path.starts_with("/api/")) {
    if (auto denied = access_.admit(info.client_key)) return denial_response(req, *denied);
  }
  switch (match.status) {
    case route_status::not_found: return not_found(req, "no such resource");
    case route_status::method_not_allowed: return method_not_allowed(req, match.allow);
    case route_status::matched: break;
  }
  const auto query = query_params::parse(query_text);
  if (!query) return bad_request(req, "malformed or oversized query string");
  api_call call{req, info, match.params, *query};
  std::optional<principal> who;
  if (match.handler->needs != route::access::open) {
    const auto header = req.find(http::field::authorization);
    const bool query_allowed = match.handler->needs == route::access::token;
    auto authenticated = access_.authenticate(
        header == req.end() ? std::nullopt : std::optional<std::string_view>(header->value()),
        query_allowed ? query->get("access_token") : std::nullopt);
    if (const auto* denied = std::get_if<access_denial>(&authenticated)) return denial_response(req, *denied);
    who = std::move(std::get<principal>(authenticated));
    call.who = &*who;
  }
  return match.handler->handler(call);
}

void api_service::count(std::string_view label, const http_answer& answer, const http_request& req,
                        const request_info& info) {
  const auto* res = std::get_if<http_response>(&answer);
  const unsigned status = res ? res->result_int() : handoff_status(req);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - info.received_at;
  metrics_.http_request(label, status, elapsed.count());
  spdlog::debug("{} {} {} -> {}", info.remote_address, req.method_string(), label, status);
}

}  // namespace progress::bridge
