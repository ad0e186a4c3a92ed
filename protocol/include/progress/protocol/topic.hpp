#pragma once
// Topic layout and id rules of protocol v1 (docs/protocol.md).

#include <compare>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace progress {

inline constexpr std::size_t max_id_length = 128;
// The id rule in words, for error messages.
inline constexpr std::string_view id_rule = "[A-Za-z0-9_.-]{1,128} and not only dots";

// The MQTT filter that matches every job topic.
inline constexpr std::string_view job_topic_filter = "users/+/jobs/+";
// The MQTT filter that matches every worker's status topic.
inline constexpr std::string_view worker_status_filter = "workers/+/status";
// The MQTT filter that matches every job's control topic (cancellation requests).
inline constexpr std::string_view control_topic_filter = "users/+/jobs/+/control";

// True when `id` matches [A-Za-z0-9_.-]{1,128} and is not made only of dots.
// User ids, job ids and worker ids all follow this rule; it keeps '/', '+',
// '#' and NUL out of topics and out of Mosquitto's %u ACL patterns, and ".",
// ".." out of the bridge's URL paths.
[[nodiscard]] bool is_valid_id(std::string_view id) noexcept;

// Identifies one job: the two ids its topic carries.
struct job_key {
  std::string user_id;
  std::string job_id;

  friend auto operator<=>(const job_key&, const job_key&) = default;
};

// "users/<userId>/jobs/<jobId>"; throws std::invalid_argument on a bad id.
[[nodiscard]] std::string job_topic(std::string_view user_id, std::string_view job_id);
[[nodiscard]] std::string job_topic(const job_key& key);

// The ids of a job topic, or nothing when `topic` is not one.
[[nodiscard]] std::optional<job_key> parse_job_topic(std::string_view topic);

// "workers/<workerId>/status"; throws std::invalid_argument on a bad id.
[[nodiscard]] std::string worker_status_topic(std::string_view worker_id);
// The worker id of a status topic, or nothing when `topic` is not one.
[[nodiscard]] std::optional<std::string> parse_worker_status_topic(std::string_view topic);

// "users/<userId>/jobs/<jobId>/control", where requests to a job's worker
// (cancellation) are retained; throws std::invalid_argument on a bad id.
[[nodiscard]] std::string control_topic(std::string_view user_id, std::string_view job_id);
[[nodiscard]] std::string control_topic(const job_key& key);

// The ids of a control topic, or nothing when `topic` is not one.
[[nodiscard]] std::optional<job_key> parse_control_topic(std::string_view topic);

}  // namespace progress
