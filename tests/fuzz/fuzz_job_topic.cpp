// Job topics and id rules: parse_job_topic on any bytes. A topic it accepts
// names two valid ids and is exactly the topic job_topic() builds from them.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "progress/protocol/topic.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view topic{reinterpret_cast<const char*>(data), size};
  const auto key = progress::parse_job_topic(topic);
  if (!key) return 0;
  if (!progress::is_valid_id(key->user_id) || !progress::is_valid_id(key->job_id)) std::abort();
  if (progress::job_topic(*key) != topic) std::abort();
  return 0;
}
