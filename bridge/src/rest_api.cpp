#include "rest_api.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "build_info.hpp"
#include "http_error.hpp"
#include "progress/protocol/topic.hpp"

namespace progress::bridge {

namespace {

// The route label of requests no route matched: keeps the metric's label set small.
constexpr std::string_view unmatched_route = "unmatched";

// A decimal integer in [min, max], nothing else (no sign, spaces or suffix).
template <typename Int>
std::optional<Int> parse_integer(std::string_view text, Int min, Int max) {
  Int value{};
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value < min || value > max) return std::nullopt;
  return value;
}

std::string_view bearer_token(std::string_view header) noexcept {
  constexpr std::string_view scheme = "bearer ";
  if (header.size() <= scheme.size()) return {};
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    const char c = header[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != scheme[i]) return {};
  }
  header.remove_prefix(scheme.size());
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  return header;
}

// Appends the stored JSON strings of `items` as a JSON array body.
template <typename Range, typename Project>
void append_array(std::string& out, const Range& items, Project project) {
  out += '[';
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += ',';
    first = false;
    project(out, *item);
  }
  out += ']';
}

std::chrono::seconds retry_after_for(double per_second) {
  if (!(per_second > 0)) return std::chrono::seconds{1};
  return std::chrono::seconds{static_cast<std::int64_t>(std::ceil(1.0 / per_second))};
}

}  // namespace

rest_api::rest_api(const job_store& store, metrics& metrics, const jwt_verifier& verifier, readiness ready,
                   rest_api_options options)
    : store_(store),
      metrics_(metrics),
      verifier_(verifier),
      ready_(std::move(ready)),
      cors_(std::move(options.cors_origins)),
      limiter_(options.rate_limit, options.rate_limit_burst, options.rate_limit_max_clients),
      retry_after_(retry_after_for(options.rate_limit)) {
  using http::verb;
  routes_.add(verb::get, "/api/v1/users/{userId}/jobs", &rest_api::list_user_jobs);
  routes_.add(verb::get, "/api/v1/users/{userId}/jobs/{jobId}", &rest_api::get_job);
  routes_.add(verb::get, "/api/v1/users/{userId}/jobs/{jobId}/events", &rest_api::get_job_events);
  routes_.add(verb::get, "/api/v1/users/{userId}/stats", &rest_api::get_user_stats);
  routes_.add(verb::get, "/api/v1/jobs", &rest_api::list_all_jobs);
  routes_.add(verb::get, "/api/v1/session", &rest_api::get_session);
  routes_.add(verb::get, "/healthz", &rest_api::healthz);
  routes_.add(verb::get, "/readyz", &rest_api::readyz);
  routes_.add(verb::get, "/metrics", &rest_api::scrape_metrics);
}

http_response rest_api::handle(const http_request& req, const request_info& info) {
  std::string_view route = unmatched_route;
  http_response res = dispatch(req, info, route);
  cors_.apply(req, res);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - info.received_at;
  metrics_.http_request(route, res.result_int(), elapsed.count());
  spdlog::debug("{} {} {} -> {}", info.remote_address, req.method_string(), route, res.result_int());
  return res;
}

void rest_api::on_rejected(http::status status, const request_info& /*info*/) {
  metrics_.http_request(unmatched_route, static_cast<unsigned>(status), 0.0);
}

http_response rest_api::dispatch(const http_request& req, const request_info& info, std::string_view& route) {
  const auto [path, query_text] = split_target(req.target());
  const auto match = routes_.match(req.method(), path);
  if (match.status != route_status::not_found) route = match.pattern;

  if (cors_policy::is_preflight(req)) {
    if (match.status == route_status::not_found) return not_found(req, "no such resource");
    return cors_.preflight(req, match.allow.empty() ? "GET, OPTIONS" : match.allow);
  }
  if (req.method() == http::verb::options && match.status == route_status::method_not_allowed) {
    // A plain OPTIONS (not a preflight) asks which methods the resource supports.
    http_response res{http::status::no_content, req.version()};
    res.keep_alive(req.keep_alive());
    res.set(http::field::allow, match.allow);
    res.prepare_payload();
    return res;
  }
  // Probes and scrapes are not limited: monitoring must see an overloaded bridge.
  if (path.starts_with("/api/")) {
    if (auto limited = rate_limit(req, info)) return std::move(*limited);
  }
  switch (match.status) {
    case route_status::not_found: return not_found(req, "no such resource");
    case route_status::method_not_allowed: return method_not_allowed(req, match.allow);
    case route_status::matched: break;
  }
  const auto query = query_params::parse(query_text);
  if (!query) return bad_request(req, "malformed or oversized query string");
  return (this->*(*match.handler))(call{req, match.params, *query});
}

std::optional<http_response> rest_api::rate_limit(const http_request& req, const request_info& info) {
  if (limiter_.allow(info.remote_address)) return std::nullopt;
  metrics_.rate_limited();
  return too_many_requests(req, retry_after_);
}

std::variant<principal, http_response> rest_api::authenticate(const http_request& req,
                                                              const query_params& query) const {
  std::string_view token;
  if (const auto header = req.find(http::field::authorization); header != req.end()) {
    token = bearer_token(header->value());
    if (token.empty()) {
      metrics_.auth_failure(to_string(auth_failure::malformed));
      return unauthorized(req, error_code(auth_failure::malformed), "Authorization header is not a Bearer token",
                          true);
    }
  } else if (const auto param = query.get("access_token")) {
    token = *param;
  }
  if (token.empty()) {
    metrics_.auth_failure(to_string(auth_failure::missing_token));
    return unauthorized(req, error_code(auth_failure::missing_token), "missing bearer token", false);
  }
  auto result = verifier_.verify(token);
  if (!result) {
    metrics_.auth_failure(to_string(result.failure));
    return unauthorized(req, error_code(result.failure), result.message, true);
  }
  return std::move(*result.who);
}

std::variant<principal, http_response> rest_api::authorize_user(const call& c,
                                                                std::string_view user_id) const {
  auto who = authenticate(c.req, c.query);
  if (std::holds_alternative<http_response>(who)) return who;
  if (!is_valid_id(user_id)) return bad_request(c.req, "invalid user id");
  if (!std::get<principal>(who).may_read(user_id))
    return forbidden(c.req, "not allowed to read this user's jobs");
  return who;
}

std::optional<http_response> rest_api::read_filters(const call& c, job_query& query) const {
  if (const auto status = c.query.get("status")) {
    const auto filter = status_filter::parse(*status);
    if (!filter) return bad_request(c.req, "unknown status filter");
    query.status = *filter;
  }
  if (const auto type = c.query.get("type")) {
    if (type->empty()) return bad_request(c.req, "empty type filter");
    query.type = std::string(*type);
  }
  if (const auto limit = c.query.get("limit")) {
    const auto value = parse_integer<std::size_t>(*limit, 1, max_list_limit);
    if (!value)
      return bad_request(c.req, "limit must be an integer from 1 to " + std::to_string(max_list_limit));
    query.limit = *value;
  }
  if (const auto cursor = c.query.get("cursor")) {
    // "<epoch>-<revision>": revisions only mean something within one store instance.
    const auto dash = cursor->find('-');
    constexpr auto max = std::numeric_limits<std::uint64_t>::max();
    const auto epoch = parse_integer<std::uint64_t>(cursor->substr(0, dash), 0, max);
    const auto value = dash == std::string_view::npos
                           ? std::nullopt
                           : parse_integer<std::uint64_t>(cursor->substr(dash + 1), 1, max);
    if (!epoch || !value) return bad_request(c.req, "invalid cursor");
    if (*epoch != store_.epoch())
      return bad_request(c.req, "cursor from an earlier bridge run: start from the first page");
    query.before_revision = *value;
  }
  return std::nullopt;
}

http_response rest_api::page_response(const call& c, const job_page& page) const {
  std::string body = R"({"jobs":)";
  append_array(body, page.jobs, [](std::string& out, const stored_job& job) { out += *job.json; });
  body += R"(,"nextCursor":)";
  if (page.next_cursor) {
    body += '"' + std::to_string(store_.epoch()) + '-' + std::to_string(*page.next_cursor) + '"';
  } else {
    body += "null";
  }
  body += '}';
  return json_response(c.req, http::status::ok, std::move(body));
}

http_response rest_api::list_user_jobs(const call& c) const {
  const auto user_id = c.params.get("userId");
  auto who = authorize_user(c, user_id);
  if (auto* denied = std::get_if<http_response>(&who)) return std::move(*denied);
  job_query query;
  query.user_id = std::string(user_id);
  if (auto bad = read_filters(c, query)) return std::move(*bad);
  return page_response(c, store_.list(query));
}

http_response rest_api::list_all_jobs(const call& c) const {
  auto who = authenticate(c.req, c.query);
  if (auto* denied = std::get_if<http_response>(&who)) return std::move(*denied);
  if (!std::get<principal>(who).admin)
    return forbidden(c.req, "listing every user's jobs needs an admin token");
  job_query query;
  if (const auto user_id = c.query.get("userId")) {
    if (!is_valid_id(*user_id)) return bad_request(c.req, "invalid user id");
    query.user_id = std::string(*user_id);
  }
  if (auto bad = read_filters(c, query)) return std::move(*bad);
  return page_response(c, store_.list(query));
}

http_response rest_api::get_job(const call& c) const {
  const auto user_id = c.params.get("userId");
  auto who = authorize_user(c, user_id);
  if (auto* denied = std::get_if<http_response>(&who)) return std::move(*denied);
  const auto job_id = c.params.get("jobId");
  if (!is_valid_id(job_id)) return bad_request(c.req, "invalid job id");
  const auto job = store_.find(job_key{std::string(user_id), std::string(job_id)});
  if (!job) return not_found(c.req, "no such job");
  return json_response(c.req, http::status::ok, *job->json);
}

http_response rest_api::get_job_events(const call& c) const {
  const auto user_id = c.params.get("userId");
  auto who = authorize_user(c, user_id);
  if (auto* denied = std::get_if<http_response>(&who)) return std::move(*denied);
  const auto job_id = c.params.get("jobId");
  if (!is_valid_id(job_id)) return bad_request(c.req, "invalid job id");
  std::optional<std::int64_t> since;
  if (const auto text = c.query.get("since")) {
    since = parse_integer<std::int64_t>(*text, 0, std::numeric_limits<std::int64_t>::max());
    if (!since) return bad_request(c.req, "since must be a non-negative integer");
  }
  const auto events = store_.history(job_key{std::string(user_id), std::string(job_id)}, since);
  if (!events) return not_found(c.req, "no such job");
  std::string body = R"({"events":)";
  append_array(body, *events, [](std::string& out, const job_event& event) {
    out += R"({"seq":)";
    out += std::to_string(event.seq);
    out += R"(,"state":)";
    out += *event.json;
    out += '}';
  });
  body += '}';
  return json_response(c.req, http::status::ok, std::move(body));
}

http_response rest_api::get_user_stats(const call& c) const {
  const auto user_id = c.params.get("userId");
  auto who = authorize_user(c, user_id);
  if (auto* denied = std::get_if<http_response>(&who)) return std::move(*denied);
  const auto stats = store_.stats(user_id);
  nlohmann::json body = {{"userId", user_id},
                         {"total", stats.total},
                         {"queued", stats.queued},
                         {"active", stats.active},
                         {"completed", stats.completed},
                         {"failed", stats.failed},
                         {"cancelled", stats.cancelled},
                         {"averageProgress", nullptr}};
  if (stats.average_progress) body["averageProgress"] = *stats.average_progress;
  return json_response(c.req, http::status::ok, body.dump());
}

http_response rest_api::get_session(const call& c) const {
  auto who = authenticate(c.req, c.query);
  if (auto* denied = std::get_if<http_response>(&who)) return std::move(*denied);
  const auto& principal = std::get<struct principal>(who);
  const auto expires_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(principal.expires_at.time_since_epoch()).count();
  const nlohmann::json body = {{"userId", principal.user_id}, {"admin", principal.admin}, {"expiresAt", expires_ms}};
  return json_response(c.req, http::status::ok, body.dump());
}

http_response rest_api::healthz(const call& c) const {
  const nlohmann::json body = {{"status", "ok"}, {"version", version()}};
  return json_response(c.req, http::status::ok, body.dump());
}

http_response rest_api::readyz(const call& c) const {
  if (!ready_ || !ready_())
    return service_unavailable(c.req, "not connected to the broker or still loading jobs");
  return json_response(c.req, http::status::ok, R"({"status":"ready"})");
}

http_response rest_api::scrape_metrics(const call& c) const {
  http_response res{http::status::ok, c.req.version()};
  res.set(http::field::content_type, "text/plain; version=0.0.4");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(c.req.keep_alive());
  res.body() = metrics_.scrape();
  res.prepare_payload();
  return res;
}

}  // namespace progress::bridge
