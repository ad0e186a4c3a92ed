#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace progress::bench {

// Builds the benchmark's job states: a realistic protocol v1 progress message whose
// details carry the publisher's send time (CLOCK_MONOTONIC, comparable across the
// processes of one host) and the step it belongs to, padded to a fixed size.
// `small` states carry only status, progress, ordering and worker (about 110 bytes,
// no send time): what a start-up scenario with a million retained jobs stores.
class progress_payload {
 public:
  enum class shape { timed, small };

  explicit progress_payload(std::size_t target_bytes, shape form = shape::timed)
      : target_bytes_(target_bytes), shape_(form) {}

  std::string build(std::string_view user_id, std::string_view job_id, std::int64_t seq, bool terminal,
                    int step, std::int64_t sent_ns, std::int64_t epoch_ms) const;

 private:
  std::size_t target_bytes_;
  shape shape_;
};

}  // namespace progress::bench
