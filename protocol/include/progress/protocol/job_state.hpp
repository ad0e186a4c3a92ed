#pragma once
// The full current state of one job, as a worker publishes it (protocol v1).

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "progress/protocol/job_status.hpp"
#include "progress/protocol/raw_json.hpp"

namespace progress {

struct job_error {
  std::string message;
  std::optional<std::string> code;

  friend bool operator==(const job_error&, const job_error&) = default;
};

struct job_state {
  job_status status = job_status::queued;
  std::optional<double> progress;  // percent, 0..100
  std::optional<std::int64_t> phase;
  std::optional<std::int64_t> total_phases;
  std::optional<std::string> phase_title;
  std::optional<std::string> message;
  std::optional<std::string> detail;
  std::optional<std::int64_t> current;
  std::optional<std::int64_t> total;
  std::optional<std::string> type;
  std::optional<std::int64_t> eta_ms;
  // How long the job may send nothing before consumers take it for stalled.
  std::optional<std::int64_t> stall_after_ms;
  std::optional<job_error> error;
  std::optional<raw_json> details;  // a JSON object (validation refuses anything else)
  std::optional<std::int64_t> seq;
  std::optional<std::int64_t> attempt;
  std::optional<std::string> worker_id;
  std::optional<std::int64_t> timestamp;  // ms since the Unix epoch
  std::optional<std::string> user_id;
  std::optional<std::string> job_id;

  friend bool operator==(const job_state&, const job_state&) = default;
};

// camelCase JSON with absent fields left out.
void to_json(nlohmann::json& out, const job_error& error);
void to_json(nlohmann::json& out, const job_state& state);

// Appends the same JSON value as to_json(state).dump(), with the keys in the
// same sorted order, without building a document first: the bridge serializes
// every accepted update, so this is on its hot path. `details` is copied as it
// came. `updated_at` adds "updatedAt". Strings must be valid UTF-8 (validation
// guarantees it).
void append_json(std::string& out, const job_state& state, std::optional<std::int64_t> updated_at = {});

}  // namespace progress
