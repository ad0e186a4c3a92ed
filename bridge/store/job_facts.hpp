#pragma once
// What the bridge itself reads of a stored job's state: ordering, status and the
// few fields it filters, summarizes or watches by. Everything else a worker sent
// lives only in the job's JSON text, served as it is: a million small jobs must
// not each carry a fully parsed state (docs/benchmarks.md, S7).

#include <cstdint>
#include <optional>
#include <string>

#include "compact_optional.hpp"
#include "progress/protocol/job_state.hpp"
#include "progress/protocol/job_status.hpp"

namespace progress::bridge {

struct job_facts {
  job_status status = job_status::queued;
  // 8 bytes a field, not std::optional's 16 (compact_optional.hpp).
  compact_optional<double> progress;  // percent, for the user's average progress
  // Ordering (decide_update reads these by name).
  compact_optional<std::int64_t> attempt;
  compact_optional<std::int64_t> seq;
  compact_optional<std::int64_t> timestamp;
  compact_optional<std::int64_t> stall_after_ms;  // the job's own stall threshold
  compact_optional<std::string> type;             // the `types` filter of listings and streams
  compact_optional<std::string> worker_id;        // whose heartbeat speaks for the job

  [[nodiscard]] static job_facts of(const job_state& state);

  friend bool operator==(const job_facts&, const job_facts&) = default;
};

}  // namespace progress::bridge
