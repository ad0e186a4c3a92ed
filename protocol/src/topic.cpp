#include "progress/protocol/topic.hpp"

#include <algorithm>
#include <stdexcept>

namespace progress {
namespace {

constexpr std::string_view control_level = "/control";

constexpr bool is_id_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}

void require_valid_id(std::string_view id, std::string_view what) {
  if (!is_valid_id(id)) {
    throw std::invalid_argument(std::string(what) +
                                " must match [A-Za-z0-9_.-]{1,128} and not be only dots: '" +
                                std::string(id.substr(0, 160)) + "'");
  }
}

}  // namespace

bool is_valid_id(std::string_view id) noexcept {
  // ".", ".." and the like are path segments with a meaning of their own in URLs.
  return !id.empty() && id.size() <= max_id_length && std::all_of(id.begin(), id.end(), is_id_char) &&
         id.find_first_not_of('.') != std::string_view::npos;
}

std::string job_topic(std::string_view user_id, std::string_view job_id) {
  require_valid_id(user_id, "userId");
  require_valid_id(job_id, "jobId");
  std::string topic;
  topic.reserve(12 + user_id.size() + job_id.size());
  topic.append("users/").append(user_id).append("/jobs/").append(job_id);
  return topic;
}

std::string job_topic(const job_key& key) {
  return job_topic(key.user_id, key.job_id);
}

std::optional<job_key> parse_job_topic(std::string_view topic) {
  constexpr std::string_view users_prefix = "users/";
  constexpr std::string_view jobs_level = "/jobs/";
  if (!topic.starts_with(users_prefix)) return std::nullopt;
  topic.remove_prefix(users_prefix.size());
  const auto jobs_at = topic.find(jobs_level);
  if (jobs_at == std::string_view::npos) return std::nullopt;
  const auto user_id = topic.substr(0, jobs_at);
  const auto job_id = topic.substr(jobs_at + jobs_level.size());
  if (!is_valid_id(user_id) || !is_valid_id(job_id)) return std::nullopt;
  return job_key{std::string(user_id), std::string(job_id)};
}

std::string control_topic(std::string_view user_id, std::string_view job_id) {
  return job_topic(user_id, job_id) + std::string(control_level);
}

std::string control_topic(const job_key& key) {
  return control_topic(key.user_id, key.job_id);
}

std::optional<job_key> parse_control_topic(std::string_view topic) {
  if (!topic.ends_with(control_level)) return std::nullopt;
  topic.remove_suffix(control_level.size());
  return parse_job_topic(topic);
}

std::string worker_status_topic(std::string_view worker_id) {
  require_valid_id(worker_id, "workerId");
  return "workers/" + std::string(worker_id) + "/status";
}

std::optional<std::string> parse_worker_status_topic(std::string_view topic) {
  constexpr std::string_view workers_prefix = "workers/";
  constexpr std::string_view status_level = "/status";
  if (topic.size() <= workers_prefix.size() + status_level.size() || !topic.starts_with(workers_prefix) ||
      !topic.ends_with(status_level)) {
    return std::nullopt;
  }
  topic.remove_prefix(workers_prefix.size());
  topic.remove_suffix(status_level.size());
  if (!is_valid_id(topic)) return std::nullopt;
  return std::string(topic);
}

}  // namespace progress
