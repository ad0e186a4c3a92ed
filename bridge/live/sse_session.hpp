#pragma once
// A live stream over Server-Sent Events (GET /api/v1/users/{userId}/stream,
// docs/protocol.md): the same messages as the WebSocket, as `event:` /
// `id:` / `data:` blocks of one never-ending HTTP response, for clients and
// proxies where WebSocket is unwelcome. Pending events are written in one
// batch (one writev) whenever the socket is ready. A comment line
// (`: heartbeat`) goes out every `heartbeat` when nothing else was written.
//
// The response has no length and ends with the connection (HTTP/1.1 allows
// it for a response marked `Connection: close`); the client's request is all
// it ever sends, so a read that ends tells the client has gone.
#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http_types.hpp"
#include "stream_session.hpp"

namespace progress::bridge {

class sse_session final : public stream_session {
 public:
  sse_session(connection_stream&& stream, std::shared_ptr<stream_hub> hub, metrics& metrics, principal who,
              stream_scope scope, std::optional<std::uint64_t> resume_after, std::string resume_cursor,
              std::shared_ptr<const stream_options> options);

  ~sse_session() override;

  // `response_head`: the status line and headers, ending with the blank line
  // (wire::sse_response_head).
  void run(std::string response_head);

 private:
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  void arm_heartbeat();
  void on_write(beast::error_code ec, std::size_t bytes);

  [[nodiscard]] std::string_view event_text(const stream_event& event) const override;
  [[nodiscard]] std::size_t batch_limit() const noexcept override { return 64; }
  void write(std::span<const outgoing_message> batch) override;
  void close_transport(stream_end reason) override;
  void on_drained() override;

  [[nodiscard]] std::shared_ptr<sse_session> self() {
    return std::static_pointer_cast<sse_session>(shared_from_this());
  }

  connection_stream stream_;
  net::steady_timer heartbeat_timer_;
  std::array<char, 256> discard_{};  // what a client sends after its request is ignored
  std::vector<net::const_buffer> buffers_;
  std::shared_ptr<stream_hub> hub_;
  // Frames of events published before this stream counted (see stream_hub::sse_opened).
  mutable std::vector<std::string> late_frames_;
  bool end_when_drained_ = false;
  bool closed_ = false;
};

}  // namespace progress::bridge
