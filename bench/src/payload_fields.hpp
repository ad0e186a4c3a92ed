#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace progress::bench {

// The fields of one benchmark job state that the load generator needs, found by scanning
// the JSON text instead of parsing it: the generator must stay far cheaper than what it
// measures. Works on every contender's framing because each carries the worker's JSON
// object with its field names unchanged.
struct payload_fields {
  std::int64_t sent_ns = -1;  // publisher's CLOCK_MONOTONIC time; -1 when absent
  int step = -1;              // publisher step; -1 for seeded states (no latency sample)
  std::int64_t seq = -1;
  std::string_view job_id;
  bool terminal = false;

  // Scans text starting at its first `"seq":`; nullopt when no job state is in it.
  static std::optional<payload_fields> scan(std::string_view text);
};

// The text of the string value of `"name":"` in text, empty when absent.
std::string_view find_string_field(std::string_view text, std::string_view quoted_name_colon_quote);

}  // namespace progress::bench
