#pragma once
// The presence of a worker (protocol v1, docs/protocol.md "Worker status"):
// retained, QoS 1, on workers/<workerId>/status. The worker writes "online"
// when it connects and "offline" when it says goodbye; the broker writes the
// worker's Last Will, "offline" too, when its connection dies without one.
//
//   {"status":"offline","workerId":"importer-1","timestamp":1795000000000}
//
// An empty retained payload clears the topic.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "progress/protocol/validation.hpp"

namespace progress {

inline constexpr std::size_t max_worker_status_payload_bytes = 4096;

enum class worker_presence { online, offline };

[[nodiscard]] std::string_view to_string(worker_presence presence) noexcept;

struct worker_status {
  worker_presence presence = worker_presence::online;
  std::string worker_id;
  // When the worker wrote it, ms since the Unix epoch. A Last Will is written
  // when the worker connects, so its time says nothing about when it died.
  std::optional<std::int64_t> timestamp;

  friend bool operator==(const worker_status&, const worker_status&) = default;
};

struct worker_status_parse_result {
  std::optional<worker_status> status;  // set when the payload is valid
  std::optional<rejection> error;       // set otherwise

  [[nodiscard]] explicit operator bool() const noexcept { return status.has_value(); }
};

// Parses a non-empty payload received on the status topic of `worker_id`;
// never throws on bad input. `status` is required; a `workerId` must equal the
// topic's; unknown fields are ignored.
[[nodiscard]] worker_status_parse_result parse_worker_status(std::string_view worker_id,
                                                             std::string_view payload);

// The payload of `status`: {"status","timestamp","workerId"}.
void to_json(nlohmann::json& out, const worker_status& status);

}  // namespace progress
