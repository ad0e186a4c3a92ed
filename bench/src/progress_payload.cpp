#include "progress_payload.hpp"

#include <algorithm>
#include <cstdio>

namespace progress::bench {

std::string progress_payload::build(std::string_view user_id, std::string_view job_id, std::int64_t seq,
                                    bool terminal, int step, std::int64_t sent_ns,
                                    std::int64_t epoch_ms) const {
  const int percent = terminal ? 100 : static_cast<int>((seq * 7) % 100);
  if (shape_ == shape::small) {
    char text[160];
    const int length = std::snprintf(
        text, sizeof text,
        R"({"status":"%s","progress":%d,"seq":%lld,"attempt":0,"workerId":"bench-publisher","timestamp":%lld})",
        terminal ? "completed" : "in_progress", percent, static_cast<long long>(seq),
        static_cast<long long>(epoch_ms));
    return {text, static_cast<std::size_t>(std::max(length, 0))};
  }
  const int phase = 1 + percent / 25;
  char head[512];
  const int head_length = std::snprintf(
      head, sizeof head,
      R"({"status":"%s","userId":"%.*s","jobId":"%.*s","progress":%d,"phase":%d,"totalPhases":5,)"
      R"("phaseTitle":"Processing batch","message":"Working through the batch","detail":"item %d of 100",)"
      R"("current":%d,"total":100,"seq":%lld,"attempt":0,"workerId":"bench-publisher","timestamp":%lld,)"
      R"("details":{"sentNs":%lld,"step":%d,"pad":")",
      terminal ? "completed" : "in_progress", static_cast<int>(user_id.size()), user_id.data(),
      static_cast<int>(job_id.size()), job_id.data(), percent, std::min(phase, 5), percent, percent,
      static_cast<long long>(seq), static_cast<long long>(epoch_ms), static_cast<long long>(sent_ns), step);
  std::string payload(head, static_cast<std::size_t>(std::max(head_length, 0)));
  constexpr std::string_view tail = "\"}}";
  if (payload.size() + tail.size() < target_bytes_)
    payload.append(target_bytes_ - payload.size() - tail.size(), 'x');
  payload.append(tail);
  return payload;
}

}  // namespace progress::bench
