#pragma once
// Stored jobs for the live area's unit tests, without a store.
#include <memory>
#include <optional>
#include <string>

#include "job_store.hpp"

namespace progress::bridge::fixtures {

inline std::shared_ptr<const stored_job> stored(std::string user, std::string job, job_status status,
                                                std::optional<std::string> type = std::nullopt) {
  auto s = std::make_shared<stored_job>();
  s->key = job_key{std::move(user), std::move(job)};
  s->state.status = status;
  s->state.type = std::move(type);
  s->json = std::make_shared<const std::string>(R"({"userId":")" + s->key.user_id + R"(","jobId":")" +
                                                s->key.job_id + R"(","status":"x"})");
  return s;
}

}  // namespace progress::bridge::fixtures
