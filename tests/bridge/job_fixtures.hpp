#pragma once
// Job states and stored jobs for the bridge's unit tests.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "job_store.hpp"

namespace progress::bridge::fixtures {

// A job state, of the first attempt unless said otherwise.
inline job_state state(job_status status, std::int64_t seq, std::int64_t attempt = 1) {
  job_state s;
  s.status = status;
  s.seq = seq;
  s.attempt = attempt;
  return s;
}

// A stored job with a small JSON body, built without a store.
inline std::shared_ptr<const stored_job> stored(std::string user, std::string job, job_status status,
                                                std::optional<std::string> type = std::nullopt) {
  auto s = std::make_shared<stored_job>();
  s->key = job_key{std::move(user), std::move(job)};
  s->facts.status = status;
  s->facts.type = std::move(type);
  s->json = std::make_shared<const std::string>(R"({"userId":")" + s->key.user_id + R"(","jobId":")" +
                                                s->key.job_id + R"(","status":"x"})");
  s->plain_size = static_cast<std::uint32_t>(s->json->size());
  return s;
}

}  // namespace progress::bridge::fixtures
