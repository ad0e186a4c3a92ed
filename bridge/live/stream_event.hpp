#pragma once
// One change of the job store as every live stream sends it: built once per
// accepted update (or removal) and shared, read-only, by every session that
// delivers it, so fan-out costs no JSON work and no copy per client.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "job_store.hpp"

namespace progress::bridge {

struct stream_event {
  std::uint64_t revision = 0;
  job_key key;
  std::shared_ptr<const stored_job> job;  // null: the job was removed
  // Terminal states and removals are never conflated away (docs/protocol.md).
  bool keep = false;
  std::string websocket_text;  // {"type":"job",...} or {"type":"job_removed",...}
  // The same message as one SSE event; empty when no SSE stream was open as
  // the change was published (sse_session frames it then).
  std::string sse_text;

  [[nodiscard]] bool removed() const noexcept { return job == nullptr; }
  // The text it holds, as send queue budgets count it.
  [[nodiscard]] std::size_t bytes() const noexcept { return websocket_text.size() + sse_text.size(); }
};

// `with_sse`: also frame the SSE event (only worth it while SSE streams are open).
[[nodiscard]] std::shared_ptr<const stream_event> make_stream_event(const job_change& change,
                                                                    std::uint64_t epoch,
                                                                    bool with_sse = true);

}  // namespace progress::bridge
