#include "client_op.hpp"

#include <cstddef>

#include <nlohmann/json.hpp>

#include "progress/protocol/job_status.hpp"
#include "progress/protocol/topic.hpp"
#include "progress/protocol/validation.hpp"
#include "stream_scope.hpp"

namespace progress::bridge {

namespace {

client_op_error bad_request(std::string message) {
  return client_op_error{"bad_request", std::move(message)};
}

// The string array `field` of an op, each entry accepted by `valid`; nothing
// (and `error` set) when it is malformed.
template <typename Valid>
std::optional<std::vector<std::string>> string_array(const nlohmann::json& op, const char* field,
                                                     std::size_t max, Valid valid, std::string& error) {
  std::vector<std::string> values;
  const auto it = op.find(field);
  if (it == op.end() || it->is_null()) return values;
  if (!it->is_array() || it->size() > max) {
    error = std::string(field) + " must be an array of at most " + std::to_string(max) + " strings";
    return std::nullopt;
  }
  for (const auto& value : *it) {
    if (!value.is_string() || !valid(value.get_ref<const std::string&>())) {
      error = std::string("invalid entry in ") + field;
      return std::nullopt;
    }
    values.push_back(value.get<std::string>());
  }
  return values;
}

bool valid_type(const std::string& type) {
  return !type.empty() && type.size() <= max_type_length;
}

client_op parse_subscribe(const nlohmann::json& op) {
  subscribe_op subscribe;
  if (const auto user = op.find("userId"); user != op.end() && !user->is_null()) {
    if (!user->is_string()) return bad_request("userId must be a string");
    subscribe.user_id = user->get<std::string>();
  }
  std::string error;
  auto job_ids = string_array(
      op, "jobIds", stream_scope::max_job_ids, [](const std::string& id) { return is_valid_id(id); }, error);
  if (!job_ids) return bad_request(std::move(error));
  auto types = string_array(op, "types", stream_scope::max_types, valid_type, error);
  if (!types) return bad_request(std::move(error));
  subscribe.job_ids = std::move(*job_ids);
  subscribe.types = std::move(*types);
  return subscribe;
}

// A non-negative integer field of a held job; false when present and not one.
bool read_version_field(const nlohmann::json& entry, const char* field, std::optional<std::int64_t>& out) {
  const auto it = entry.find(field);
  if (it == entry.end() || it->is_null()) return true;
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0) return false;
  out = it->get<std::int64_t>();
  return true;
}

std::optional<held_job> parse_held_job(const nlohmann::json& entry) {
  if (!entry.is_object()) return std::nullopt;
  const auto user = entry.find("userId");
  const auto job = entry.find("jobId");
  const auto status = entry.find("status");
  if (user == entry.end() || job == entry.end() || status == entry.end() || !user->is_string() ||
      !job->is_string() || !status->is_string())
    return std::nullopt;
  held_job held;
  held.key = job_key{user->get<std::string>(), job->get<std::string>()};
  if (!is_valid_id(held.key.user_id) || !is_valid_id(held.key.job_id)) return std::nullopt;
  const auto parsed = parse_job_status(status->get_ref<const std::string&>());
  if (!parsed) return std::nullopt;
  held.status = *parsed;
  if (!read_version_field(entry, "attempt", held.attempt) || !read_version_field(entry, "seq", held.seq) ||
      !read_version_field(entry, "timestamp", held.timestamp))
    return std::nullopt;
  if (const auto notes = entry.find("annotated"); notes != entry.end() && !notes->is_null()) {
    if (!notes->is_boolean()) return std::nullopt;
    held.annotated = notes->get<bool>();
  }
  return held;
}

client_op parse_resume(const nlohmann::json& op) {
  const auto jobs = op.find("jobs");
  if (jobs == op.end() || !jobs->is_array() || jobs->size() > resume_op::max_jobs)
    return bad_request("jobs must be an array of at most " + std::to_string(resume_op::max_jobs) + " jobs");
  resume_op resume;
  resume.jobs.reserve(jobs->size());
  for (const auto& entry : *jobs) {
    auto held = parse_held_job(entry);
    if (!held) return bad_request("a held job needs userId, jobId, status and integer attempt, seq, timestamp");
    resume.jobs.push_back(std::move(*held));
  }
  return resume;
}

}  // namespace

client_op parse_client_op(std::string_view text) {
  const auto op = nlohmann::json::parse(text, nullptr, false);
  if (op.is_discarded() || !op.is_object()) return bad_request("an op is a JSON object");
  const auto name = op.find("op");
  if (name == op.end() || !name->is_string()) return bad_request("missing \"op\"");
  const auto& verb = name->get_ref<const std::string&>();

  if (verb == "ping") {
    ping_op ping;
    if (const auto given = op.find("id"); given != op.end() && (given->is_string() || given->is_number()))
      ping.id_json = given->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return ping;
  }
  if (verb == "unsubscribe") return unsubscribe_op{};
  if (verb == "subscribe") return parse_subscribe(op);
  if (verb == "resume") return parse_resume(op);
  return client_op_error{"unknown_op", "unknown op; expected subscribe, unsubscribe, ping or resume"};
}

}  // namespace progress::bridge
