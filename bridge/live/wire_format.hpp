#pragma once
// Every message a live stream sends and both of its framings, built here and
// nowhere else (docs/protocol.md, "Live streams from the bridge").
//
// Messages are one line of JSON with a "type": snapshot, resume, job,
// job_removed, error, pong. A WebSocket sends each as one text message; SSE
// sends each as one event (`event: <type>`, `id: <cursor>`, `data: <json>`).
// Job states are the JSON the store serialized once per accepted update,
// copied in as they are; ids follow [A-Za-z0-9_.-] and need no escaping.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cors_policy.hpp"
#include "http_types.hpp"
#include "job_store.hpp"
#include "stream_scope.hpp"

namespace progress::bridge {

enum class stream_framing { websocket, sse };

// "websocket" or "sse": the transport label of metrics and logs.
[[nodiscard]] std::string_view to_string(stream_framing framing) noexcept;

namespace wire {

// The message type of a job change: "job", or "job_removed" when `job` is null.
[[nodiscard]] std::string_view change_type(const stored_job* job) noexcept;

// {"type":"job","job":<state>,"cursor":"..."}
[[nodiscard]] std::string job_message(const stored_job& job, std::string_view cursor);
// {"type":"job_removed","userId":"...","jobId":"...","cursor":"..."}
[[nodiscard]] std::string job_removed_message(const job_key& key, std::string_view cursor);
// {"type":"snapshot","jobs":[...],"cursor":"...","recovered":false[,"truncated":true]}
// with the jobs `scope` covers, in the order given.
[[nodiscard]] std::string snapshot_message(const std::vector<std::shared_ptr<const stored_job>>& jobs,
                                           const stream_scope& scope, std::string_view cursor,
                                           bool truncated);
// {"type":"snapshot","recovery":"state","jobs":[...],"removed":[{"userId","jobId"}...],
//  "unchanged":N,"cursor":"...","recovered":false}: the answer to a state resume,
// with the jobs and removals `scope` covers.
[[nodiscard]] std::string state_snapshot_message(const std::vector<std::shared_ptr<const stored_job>>& jobs,
                                                 const std::vector<job_key>& removed, std::size_t unchanged,
                                                 const stream_scope& scope, std::string_view cursor);
// {"type":"resume","cursor":"...","recovered":true}
[[nodiscard]] std::string resume_message(std::string_view cursor);
// {"type":"error","code":"...","message":"..."}
[[nodiscard]] std::string error_message(std::string_view code, std::string_view message);
// {"type":"pong","id":<id>}; `id_json` is the client's id as JSON ("null" when it gave none).
[[nodiscard]] std::string pong_message(std::string_view id_json);

// One message framed for the wire: as it is for a WebSocket; an SSE event
// with `id:` when `cursor` is not empty.
[[nodiscard]] std::string frame(stream_framing framing, std::string_view type, std::string_view cursor,
                                std::string json);
// An SSE comment that keeps proxies from timing an idle stream out.
[[nodiscard]] std::string sse_heartbeat();
// The status line and headers of an SSE response to `req`, ending with the
// blank line: the response has no length and ends with the connection.
[[nodiscard]] std::string sse_response_head(const http_request& req, const cors_policy& cors);

}  // namespace wire
}  // namespace progress::bridge
