#pragma once
// What the bridge knows of a job besides the state its worker published, and
// serves with it (docs/api.md): that the job looks stalled, and that someone
// asked to cancel it. A change of an annotation is a change of the job like
// an update: a new revision, an entry in the change log, a message to live
// streams (job_store::annotate).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "heap_optional.hpp"

namespace progress::bridge {

enum class stall_reason {
  worker_offline,  // the job's worker announced it is offline (its Last Will, or a goodbye)
  silent,          // the job sent nothing for its stall time
};

// "worker_offline" or "silent", as served.
[[nodiscard]] std::string_view to_string(stall_reason reason) noexcept;

struct stall_mark {
  stall_reason reason = stall_reason::silent;
  std::int64_t since_ms = 0;  // when the bridge marked it, ms since the Unix epoch

  friend bool operator==(const stall_mark&, const stall_mark&) = default;
};

struct cancel_mark {
  std::string request_id;
  std::string requested_by;  // the user who asked
  std::int64_t at_ms = 0;    // when, ms since the Unix epoch

  friend bool operator==(const cancel_mark&, const cancel_mark&) = default;
};

struct job_annotations {
  // Both are rare, and a million jobs are held without them: on the heap.
  // Cleared by every accepted update of the job.
  heap_optional<stall_mark> stalled;
  // Kept until the job ends.
  heap_optional<cancel_mark> cancel_requested;

  [[nodiscard]] bool empty() const noexcept { return !stalled && !cancel_requested; }

  friend bool operator==(const job_annotations&, const job_annotations&) = default;
};

// Adds the annotations to the JSON object `json` ends with, before its closing
// brace: "cancelRequested":{"at","requestId","requestedBy"} and
// "stalled":{"reason","since"}. Nothing when there are none.
void append_annotations(std::string& json, const job_annotations& notes);

}  // namespace progress::bridge
