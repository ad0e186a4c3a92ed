#include "rest_routes.hpp"

#include <limits>

#include <nlohmann/json.hpp>

#include "access_answers.hpp"
#include "http_error.hpp"
#include "parse_integer.hpp"
#include "progress/protocol/topic.hpp"
#include "progress/protocol/validation.hpp"
#include "store_cursor.hpp"
#include "unix_time.hpp"

namespace progress::bridge {

namespace {

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

// The job the call's path names, once the caller may read its user's jobs;
// otherwise the answer refusing it.
std::variant<job_key, http_response> job_of(const api_call& call, const access_policy& access) {
  return job_in_path(call, access.authorize_user(*call.who, call.params.get("userId")));
}

}  // namespace

rest_routes::rest_routes(const job_store& store, const access_policy& access)
    : store_(store), access_(access) {}

std::optional<http_response> rest_routes::read_filters(const api_call& call, job_query& query) const {
  if (const auto status = call.query.get("status")) {
    const auto filter = status_filter::parse(*status);
    if (!filter) return bad_request(call.req, "unknown status filter");
    query.status = *filter;
  }
  if (const auto type = call.query.get("type")) {
    if (type->empty() || type->size() > max_type_length) return bad_request(call.req, "invalid type filter");
    query.type = std::string(*type);
  }
  if (const auto limit = call.query.get("limit")) {
    const auto value = parse_integer<std::size_t>(*limit, 1, max_list_limit);
    if (!value)
      return bad_request(call.req, "limit must be an integer from 1 to " + std::to_string(max_list_limit));
    query.limit = *value;
  }
  if (const auto text = call.query.get("cursor")) {
    const auto cursor = store_cursor::parse(*text);
    if (!cursor || cursor->revision == 0) return bad_request(call.req, "invalid cursor");
    if (cursor->epoch != store_.epoch())
      return bad_request(call.req, "cursor from an earlier bridge run: start from the first page");
    query.before_revision = cursor->revision;
  }
  return std::nullopt;
}

http_response rest_routes::page_response(const api_call& call, const job_page& page) const {
  std::string body = R"({"jobs":)";
  append_array(body, page.jobs, [](std::string& out, const stored_job& job) { out += *job.json; });
  body += R"(,"nextCursor":)";
  if (page.next_cursor) {
    body += '"' + store_cursor{store_.epoch(), *page.next_cursor}.to_string() + '"';
  } else {
    body += "null";
  }
  body += '}';
  return json_response(call.req, http::status::ok, std::move(body));
}

http_response rest_routes::list_user_jobs(const api_call& call) const {
  auto granted = access_.authorize_user(*call.who, call.params.get("userId"));
  if (const auto* denied = std::get_if<access_denial>(&granted)) return denial_response(call.req, *denied);
  job_query query;
  query.user_id = std::move(std::get<read_grant>(granted).user_id);
  if (auto bad = read_filters(call, query)) return std::move(*bad);
  return page_response(call, store_.list(query));
}

http_response rest_routes::list_all_jobs(const api_call& call) const {
  const auto granted = access_.authorize_everyone(*call.who);
  if (const auto* denied = std::get_if<access_denial>(&granted)) return denial_response(call.req, *denied);
  job_query query;
  if (const auto user_id = call.query.get("userId")) {
    if (!is_valid_id(*user_id)) return bad_request(call.req, "invalid user id");
    query.user_id = std::string(*user_id);
  }
  if (auto bad = read_filters(call, query)) return std::move(*bad);
  return page_response(call, store_.list(query));
}

http_response rest_routes::get_job(const api_call& call) const {
  auto key = job_of(call, access_);
  if (auto* refused = std::get_if<http_response>(&key)) return std::move(*refused);
  const auto job = store_.find(std::get<job_key>(key));
  if (!job) return not_found(call.req, "no such job");
  return json_response(call.req, http::status::ok, *job->json);
}

http_response rest_routes::get_job_events(const api_call& call) const {
  auto key = job_of(call, access_);
  if (auto* refused = std::get_if<http_response>(&key)) return std::move(*refused);
  std::optional<std::int64_t> since;
  if (const auto text = call.query.get("since")) {
    since = parse_integer<std::int64_t>(*text, 0, std::numeric_limits<std::int64_t>::max());
    if (!since) return bad_request(call.req, "since must be a non-negative integer");
  }
  const auto events = store_.history(std::get<job_key>(key), since);
  if (!events) return not_found(call.req, "no such job");
  std::string body = R"({"events":)";
  append_array(body, *events, [](std::string& out, const job_event& event) {
    out += R"({"seq":)";
    out += std::to_string(event.seq);
    out += R"(,"state":)";
    out += event.json;
    out += '}';
  });
  body += '}';
  return json_response(call.req, http::status::ok, std::move(body));
}

http_response rest_routes::get_user_stats(const api_call& call) const {
  const auto granted = access_.authorize_user(*call.who, call.params.get("userId"));
  if (const auto* denied = std::get_if<access_denial>(&granted)) return denial_response(call.req, *denied);
  const auto& user_id = *std::get<read_grant>(granted).user_id;
  const auto stats = store_.stats(user_id);
  nlohmann::json body = {{"userId", user_id},
                         {"total", stats.total},
                         {"queued", stats.queued},
                         {"active", stats.active},
                         {"completed", stats.completed},
                         {"failed", stats.failed},
                         {"cancelled", stats.cancelled},
                         {"stalled", stats.stalled},
                         {"averageProgress", nullptr}};
  if (stats.average_progress) body["averageProgress"] = *stats.average_progress;
  return json_response(call.req, http::status::ok, body.dump());
}

http_response rest_routes::get_session(const api_call& call) const {
  const auto& who = *call.who;
  const nlohmann::json body = {
      {"userId", who.user_id}, {"admin", who.admin}, {"expiresAt", to_unix_ms(who.expires_at)}};
  return json_response(call.req, http::status::ok, body.dump());
}

}  // namespace progress::bridge
