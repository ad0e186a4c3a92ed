#pragma once
// A live stream over WebSocket (GET /api/v1/ws, docs/protocol.md): JSON text
// messages out, JSON ops in. Beast does the handshake, reads ops, answers
// pings, sends the keep-alive pings the hub's keepalive_sweep asks for and
// closes; the session frames its messages
// itself and writes each batch of queued ones as one gather write through the
// socket's write_gate, which keeps them and Beast's frames whole and in order.
//
// Limits: client messages up to `max_client_message` bytes (bigger: Beast
// closes with 1009); ops at `ops_per_second` with a burst of `ops_burst`,
// refused ops get an `error`, and after `max_refused_ops` of them the client
// is closed with 4029. Pings go out after `heartbeat` without traffic and
// the connection is dropped after twice that without any frame from the client
// (the hub's keepalive_sweep, not a timer per stream).
//
// State resume (docs/protocol.md "State resume"): a stream opened with
// `await_state` starts only when the client's first message, a `resume` op,
// arrived, or after `resume_wait` (then with a full snapshot). That message
// may be up to `max_resume_message` bytes; a bigger one is not read as a
// resume (a full snapshot), and one beyond `max_resume_read` closes with 1009.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "access_policy.hpp"
#include "http_types.hpp"
#include "stream_session.hpp"
#include "websocket_frame.hpp"
#include "write_gate.hpp"

namespace progress::bridge {

class websocket_session final : public stream_session {
 public:
  static constexpr std::size_t max_client_message = 4096;
  static constexpr double ops_per_second = 20;
  static constexpr double ops_burst = 40;
  static constexpr unsigned max_refused_ops = 100;
  // After the close handshake starts, the client gets this long to answer
  // before the socket is dropped (a stalled client never reads the close
  // frame); Beast's handshake timeout, which also bounds the opening one.
  static constexpr std::chrono::seconds close_grace{5};
  // Frames written at once, at most (then capped by stream_options::max_batch).
  static constexpr std::size_t max_frames_per_write = 64;
  static constexpr std::size_t max_resume_message = 512 * 1024;
  static constexpr std::size_t max_resume_read = 4 * max_resume_message;
  static constexpr std::chrono::seconds resume_wait{5};

  // `access` decides what a `subscribe` op may follow; it must outlive the session.
  websocket_session(connection_stream&& stream, std::shared_ptr<stream_hub> hub, metrics& metrics,
                    const access_policy& access, principal who, std::optional<std::uint64_t> resume_after,
                    std::string resume_cursor, std::shared_ptr<const stream_options> options,
                    bool await_state = false);

  ~websocket_session() override;

  // Completes the upgrade `req` asked for, then streams.
  void run(http_request req);

 private:
  friend class keepalive_sweep;
  // keepalive_sweep, any thread: when the client was last heard, and the heartbeat.
  [[nodiscard]] std::chrono::steady_clock::time_point last_heard() const noexcept {
    return std::chrono::steady_clock::time_point{
        std::chrono::steady_clock::duration{last_heard_.load(std::memory_order_relaxed)}};
  }
  [[nodiscard]] std::chrono::seconds heartbeat() const noexcept { return options().heartbeat; }
  // keepalive_sweep, any thread: post to our strand.
  void keepalive_ping();
  void keepalive_drop();
  void heard() noexcept {
    last_heard_.store(std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  }
  void on_accept(beast::error_code ec);
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes, std::size_t at);
  void read_held_state();
  void on_held_state(beast::error_code ec, std::size_t bytes);
  void on_read_failed(beast::error_code ec);
  void handle_op(std::string_view text);
  void refuse(std::string_view code, std::string_view message);
  [[nodiscard]] bool take_op_token();
  void on_write(beast::error_code ec, std::size_t bytes);
  void on_close(beast::error_code ec);

  [[nodiscard]] std::string_view event_text(const stream_event& event) const override {
    return event.websocket_text;
  }
  [[nodiscard]] std::size_t batch_limit() const noexcept override { return max_frames_per_write; }
  void write(std::span<const outgoing_message> batch) override;
  void close_transport(stream_end reason) override;

  [[nodiscard]] std::shared_ptr<websocket_session> self() {
    return std::static_pointer_cast<websocket_session>(shared_from_this());
  }

  // No permessage-deflate (the bridge never offers it): a smaller stream per connection.
  websocket::stream<write_gate, /*deflateSupported=*/false> ws_;
  const access_policy& access_;
  // Client ops are small and rare: a message is read into op_text_, in its
  // inline buffer first (so an idle connection holds no read buffer), growing
  // only for a longer one, and freed again once it was handled.
  std::string op_text_;
  // The batch being written: a header and the text of each frame. Kept (up
  // to a small capacity) between batches of job changes, so a delivery
  // allocates nothing; freed after a batch without one (a snapshot, a pong),
  // so an idle stream holds none.
  struct frame_lists {
    std::vector<frame_header> headers;
    std::vector<net::const_buffer> frames;
  };
  std::unique_ptr<frame_lists> batch_frames_;
  bool keep_frames_ = false;  // the batch held a job change: keep the lists
  // While a state resume is awaited: its message and the wait (made only
  // for a stream opened with ?resume=state, and dropped once it started).
  struct held_state_read {
    beast::flat_buffer message;
    net::steady_timer timer;
  };
  bool awaiting_state_ = false;
  std::unique_ptr<held_state_read> state_read_;
  double op_tokens_ = ops_burst;
  std::chrono::steady_clock::time_point op_refill_ = std::chrono::steady_clock::now();
  unsigned refused_ops_ = 0;
  // Any frame from the client (data or control) counts; read by keepalive_sweep.
  std::atomic<std::chrono::steady_clock::rep> last_heard_{0};
  std::size_t listed_at_ = keepalive_sweep::not_listed;  // keepalive_sweep's, under its mutex
  bool ping_in_flight_ = false;
  bool open_ = false;        // the upgrade completed
  bool close_sent_ = false;  // async_close started
};

}  // namespace progress::bridge
