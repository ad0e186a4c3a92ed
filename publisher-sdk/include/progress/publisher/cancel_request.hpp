#pragma once
// A request to cancel a job, as its worker receives it on the job's control
// topic (docs/protocol.md, "Control topic").

#include <cstdint>
#include <functional>
#include <string>

namespace progress {

struct cancel_request {
  std::string request_id;      // the same id may be delivered again; handlers see it once
  std::string requested_by;    // the user who asked
  std::int64_t timestamp = 0;  // when, ms since the Unix epoch

  friend bool operator==(const cancel_request&, const cancel_request&) = default;
};

// Runs on the MQTT client's thread: it must not block and must not call into
// the job handle (set a flag or notify a condition variable, and let the
// thread that runs the job call job::cancel()).
using cancel_handler = std::function<void(const cancel_request&)>;

}  // namespace progress
