#pragma once
// One change of the job store as every live stream sends it: built once per
// accepted update (or removal) and shared, read-only, by every session that
// delivers it, so fan-out costs no JSON work and no copy per client.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "job_store.hpp"

namespace progress::bridge {

struct stream_event {
  std::uint64_t revision = 0;
  job_key key;
  std::shared_ptr<const stored_job> job;  // null: the job was removed
  // Terminal states and removals are never conflated away (docs/protocol.md).
  bool keep = false;
  std::string websocket_text;  // {"type":"job",...} or {"type":"job_removed",...}
  // The same message as one SSE event (event:, id:, data:); empty when no SSE
  // stream was open as the change was published (sse_session frames it then).
  std::string sse_text;

  [[nodiscard]] bool removed() const noexcept { return job == nullptr; }
};

// "<epoch>.<revision>": the stream cursor after a change (docs/protocol.md).
[[nodiscard]] std::string stream_cursor(std::uint64_t epoch, std::uint64_t revision);

// The revision a cursor names, when it was issued by a store of `epoch`.
[[nodiscard]] std::optional<std::uint64_t> parse_stream_cursor(std::string_view cursor, std::uint64_t epoch);

// One SSE event: `event: <type>`, `id: <cursor>` (when not empty), `data: <json>`.
// `json` must be a single line, as every message the bridge builds is.
[[nodiscard]] std::string sse_frame(std::string_view type, std::string_view cursor, std::string_view json);

// `with_sse`: also build sse_text (only worth it while SSE streams are open).
[[nodiscard]] std::shared_ptr<const stream_event> make_stream_event(const job_change& change,
                                                                    std::uint64_t epoch,
                                                                    bool with_sse = true);

}  // namespace progress::bridge
