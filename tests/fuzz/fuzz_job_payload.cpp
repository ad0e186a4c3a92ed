// Protocol v1 payloads as the bridge receives them: parse_update on any bytes.
// A payload it accepts must also pass validate(), and the store's direct
// serializer (append_json) must write the value nlohmann::json writes; byte for
// byte once `details`, which it copies in the worker's key order, is in
// nlohmann's sorted order too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "progress/protocol/job_state.hpp"
#include "progress/protocol/validation.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view payload{reinterpret_cast<const char*>(data), size};
  const progress::job_key key{"alice", "job-1"};
  const auto parsed = progress::parse_update(key, payload);
  if (!parsed) {
    if (!parsed.error) std::abort();  // a refusal always says why
    return 0;
  }
  if (progress::validate(*parsed.state, &key)) std::abort();

  std::string text;
  progress::append_json(text, *parsed.state);
  nlohmann::json direct;
  progress::to_json(direct, *parsed.state);
  if (nlohmann::json::parse(text) != direct) std::abort();

  auto sorted = *parsed.state;
  if (sorted.details) sorted.details = progress::raw_json(sorted.details->parse());
  text.clear();
  progress::append_json(text, sorted);
  if (text != direct.dump()) std::abort();
  return 0;
}
