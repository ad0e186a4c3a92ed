#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace progress::bench {

// Builds the benchmark's job states: a realistic protocol v1 progress message whose
// details carry the publisher's send time (CLOCK_MONOTONIC, comparable across the
// processes of one host) and the step it belongs to, padded to a fixed size.
class progress_payload {
 public:
  explicit progress_payload(std::size_t target_bytes) : target_bytes_(target_bytes) {}

  std::string build(std::string_view user_id, std::string_view job_id, std::int64_t seq, bool terminal,
                    int step, std::int64_t sent_ns, std::int64_t epoch_ms) const;

 private:
  std::size_t target_bytes_;
};

}  // namespace progress::bench
