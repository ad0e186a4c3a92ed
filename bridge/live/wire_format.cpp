#include "wire_format.hpp"

#include <nlohmann/json.hpp>

#include "build_info.hpp"

namespace progress::bridge {

std::string_view to_string(stream_framing framing) noexcept {
  return framing == stream_framing::websocket ? "websocket" : "sse";
}

namespace wire {

namespace {

void append_cursor(std::string& json, std::string_view cursor) {
  json += R"(,"cursor":")";
  json += cursor;
  json += '"';
}

// The jobs `scope` covers, as a JSON array.
void append_jobs(std::string& json, const std::vector<std::shared_ptr<const stored_job>>& jobs,
                 const stream_scope& scope) {
  json += '[';
  bool first = true;
  for (const auto& job : jobs) {
    if (!scope.covers(job->key, job.get())) continue;
    if (!first) json += ',';
    first = false;
    json += *job->json;
  }
  json += ']';
}

}  // namespace

std::string_view change_type(const stored_job* job) noexcept {
  return job != nullptr ? "job" : "job_removed";
}

std::string job_message(const stored_job& job, std::string_view cursor) {
  std::string json;
  json.reserve(job.json->size() + cursor.size() + 40);
  json += R"({"type":"job","job":)";
  json += *job.json;
  append_cursor(json, cursor);
  json += '}';
  return json;
}

std::string job_removed_message(const job_key& key, std::string_view cursor) {
  std::string json = R"({"type":"job_removed","userId":")";
  json += key.user_id;
  json += R"(","jobId":")";
  json += key.job_id;
  json += '"';
  append_cursor(json, cursor);
  json += '}';
  return json;
}

std::string snapshot_message(const std::vector<std::shared_ptr<const stored_job>>& jobs,
                             const stream_scope& scope, std::string_view cursor, bool truncated) {
  std::string json = R"({"type":"snapshot","jobs":)";
  append_jobs(json, jobs, scope);
  append_cursor(json, cursor);
  json += R"(,"recovered":false)";
  if (truncated) json += R"(,"truncated":true)";
  json += '}';
  return json;
}

std::string state_snapshot_message(const std::vector<std::shared_ptr<const stored_job>>& jobs,
                                   const std::vector<job_key>& removed, std::size_t unchanged,
                                   const stream_scope& scope, std::string_view cursor) {
  std::string json = R"({"type":"snapshot","recovery":"state","jobs":)";
  append_jobs(json, jobs, scope);
  json += R"(,"removed":[)";
  bool first = true;
  for (const auto& key : removed) {
    if (!scope.covers(key, nullptr)) continue;
    if (!first) json += ',';
    first = false;
    json += R"({"userId":")";
    json += key.user_id;
    json += R"(","jobId":")";
    json += key.job_id;
    json += R"("})";
  }
  json += R"(],"unchanged":)";
  json += std::to_string(unchanged);
  append_cursor(json, cursor);
  json += R"(,"recovered":false})";
  return json;
}

std::string resume_message(std::string_view cursor) {
  std::string json = R"({"type":"resume")";
  append_cursor(json, cursor);
  json += R"(,"recovered":true})";
  return json;
}

std::string error_message(std::string_view code, std::string_view message) {
  // Messages may quote client input: nlohmann escapes it, replacing invalid UTF-8.
  const nlohmann::json error = {{"type", "error"}, {"code", code}, {"message", message}};
  return error.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string pong_message(std::string_view id_json) {
  std::string json = R"({"type":"pong","id":)";
  json += id_json;
  json += '}';
  return json;
}

std::string frame(stream_framing framing, std::string_view type, std::string_view cursor, std::string json) {
  if (framing == stream_framing::websocket) return json;
  std::string event;
  event.reserve(type.size() + cursor.size() + json.size() + 24);
  event += "event: ";
  event += type;
  event += '\n';
  if (!cursor.empty()) {
    event += "id: ";
    event += cursor;
    event += '\n';
  }
  event += "data: ";
  event += json;
  event += "\n\n";
  return event;
}

std::string sse_heartbeat() {
  return ": heartbeat\n\n";
}

std::string sse_response_head(const http_request& req, const cors_policy& cors) {
  http_response head{http::status::ok, req.version()};
  head.set(http::field::content_type, "text/event-stream; charset=utf-8");
  head.set(http::field::cache_control, "no-cache, no-store");
  head.set(http::field::connection, "close");
  head.set("X-Accel-Buffering", "no");  // proxies must not hold events back
  head.set(http::field::server, "progress-bridge/" + std::string(version()));
  cors.apply(req, head);
  std::string text = "HTTP/1.1 200 OK\r\n";
  for (const auto& field : head) {
    text.append(field.name_string()).append(": ").append(field.value()).append("\r\n");
  }
  text += "\r\n";
  return text;
}

}  // namespace wire
}  // namespace progress::bridge
