#pragma once
// What WebSocket and SSE streams share: the hub subscription, the scope, the
// bounded conflating send queue, the write pump with one write in flight,
// and what ends a stream: its token's expiry (watched by the hub's
// expiry_sweep) and a stalled write (a timer made when a write first stays in
// flight).
//
// Snapshots: at most one is asked of the hub at a time, and at most one
// waits in the send queue (besides one being written). A scope change while
// one is asked only marks it stale: when it arrives, it is dropped and a
// snapshot of the current scope is asked instead; a snapshot that arrives
// while an older one still waits unsent replaces it, together with every
// job change queued before it (the new one covers them).
//
// Everything here runs on the connection's strand; the hub only posts to it.
// The hub holds the session until detach(), which finish() calls once, when
// the transport has ended.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "asio.hpp"
#include "connection_table.hpp"
#include "metrics.hpp"
#include "principal.hpp"
#include "send_queue.hpp"
#include "state_diff.hpp"
#include "stream_hub.hpp"
#include "stream_scope.hpp"
#include "wire_format.hpp"

namespace progress::bridge {

struct stream_options {
  std::size_t queue_limit = 1024;          // send_queue_limits::messages
  std::size_t queue_bytes = 1024 * 1024;   // send_queue_limits::bytes
  std::chrono::seconds stall_timeout{30};  // a write in flight this long: slow consumer
  std::chrono::seconds heartbeat{15};      // SSE comment / WebSocket ping interval
  std::size_t max_batch = 64;              // messages per write where the transport allows
  // Tokens are accepted up to this long past `exp` (jwt_verifier_options::leeway);
  // a stream closes for expiry at the same point, not earlier.
  std::chrono::seconds token_leeway{30};
};

// Why a stream ended; WebSocket close codes in docs/protocol.md.
enum class stream_end { client, shutdown, token_expired, slow_consumer, over_budget, op_flood, error };

[[nodiscard]] std::string_view to_string(stream_end reason) noexcept;

class stream_session : public stream_subscriber, public std::enable_shared_from_this<stream_session> {
 public:
  // stream_subscriber: hub strand, post to ours.
  void on_start(std::shared_ptr<const stream_start> start) final;
  void on_event(const std::shared_ptr<const stream_event>& event) final;
  void on_shutdown() final;
  // expiry_sweep, any thread: the token expired; post to our strand.
  void expire();

  // Keeps the connection counted by its listener for as long as the stream lives.
  void hold(connection_slot slot) { slot_ = std::move(slot); }

 protected:
  // `resume_after` / `resume_cursor`: the client's cursor when it was valid here.
  stream_session(connection_executor executor, std::shared_ptr<stream_hub> hub, metrics& metrics,
                 stream_framing framing, principal who, stream_scope scope,
                 std::optional<std::uint64_t> resume_after, std::string resume_cursor,
                 std::shared_ptr<const stream_options> options);
  ~stream_session() override;

  // The transport is open: subscribe to the hub and watch the token's expiry.
  // `held`: the job versions the client said it holds (a state resume).
  void begin(std::shared_ptr<const std::vector<held_job>> held = nullptr);
  // The transport has ended (read failed or socket closed): unsubscribe,
  // stop watching, count the close. Idempotent.
  void finish();

  // Queues one of the session's own messages (JSON, one line, built by
  // wire_format), framed for the transport; one asked before the stream's first
  // snapshot or resume goes out after it. False when the queue is full and
  // the session was closed as a slow consumer.
  bool send_own(std::string json, std::string_view type, std::string_view cursor = {});
  // Queues text already framed for the wire (an SSE heartbeat).
  bool send_framed(std::string text);
  // Queues framed text even when closing (a final SSE event).
  void send_final(std::string text);
  // Switches the scope and asks the hub for a fresh snapshot of it (or, when
  // one is already asked, for another once that one arrives).
  void change_scope(stream_scope scope);
  void pump();
  // Called by the transport when the write of the current batch completed
  // (also from inside write(), when it completed at once).
  void on_written(boost::system::error_code ec);
  // Ends the stream for `reason` (transport-specific); records the reason.
  void end(stream_end reason);

  [[nodiscard]] const principal& who() const noexcept { return who_; }
  [[nodiscard]] const stream_scope& scope() const noexcept { return scope_; }
  [[nodiscard]] bool closing() const noexcept { return closing_; }
  [[nodiscard]] bool writing() const noexcept { return writing_; }
  [[nodiscard]] bool idle() const noexcept { return !writing_ && queue_.empty(); }
  [[nodiscard]] const stream_options& options() const noexcept { return *options_; }
  [[nodiscard]] stream_framing framing() const noexcept { return framing_; }
  [[nodiscard]] metrics& stats() noexcept { return metrics_; }
  [[nodiscard]] stream_hub& hub() noexcept { return *hub_; }
  [[nodiscard]] std::string cursor(std::uint64_t revision) const;

  // Transport hooks: what a WebSocket, an SSE response or a test's fake
  // transport implements.
  // The wire text of a job change, framed for this transport.
  [[nodiscard]] virtual std::string_view event_text(const stream_event& event) const = 0;
  // Messages written at once, at most.
  [[nodiscard]] virtual std::size_t batch_limit() const noexcept = 0;
  // Starts writing `batch` (kept alive until on_written, which may run before write() returns).
  virtual void write(std::span<const outgoing_message> batch) = 0;
  // Closes the transport for `reason`; the read side then fails and calls finish().
  virtual void close_transport(stream_end reason) = 0;
  // A batch was written and the queue is empty (SSE ends after its final event).
  virtual void on_drained() {}

  [[nodiscard]] std::string_view text_of(const outgoing_message& message) const {
    return message.event ? event_text(*message.event) : std::string_view{*message.text};
  }

 private:
  void start(const stream_start& start);
  void deliver(const std::shared_ptr<const stream_event>& event);
  void queue(outgoing_message message, bool conflate = true);
  // Queues framed text of the session's own (send_own, send_framed).
  bool send_text(std::string text, bool waits_for_view);
  // Queues a snapshot or resume message, superseding pending ones.
  bool send_view_start(std::string json, std::string_view type, std::string_view cursor);
  [[nodiscard]] std::shared_ptr<stream_session> self() { return shared_from_this(); }
  [[nodiscard]] std::chrono::system_clock::time_point expiry_deadline() const noexcept {
    return who_.expires_at + options_->token_leeway;
  }
  void unwatch_expiry();

  connection_executor executor_;
  std::shared_ptr<stream_hub> hub_;
  metrics& metrics_;
  const stream_framing framing_;
  const principal who_;
  stream_scope scope_;
  // What the first start resumes from, made only for a stream that resumes
  // and dropped once it started (most streams never hold one).
  struct resume_point {
    std::optional<std::uint64_t> after;  // the client's cursor, when valid here
    std::string cursor;
    // The job versions the client holds (state resume): a first start that is a
    // snapshot is sent as what differs from them (state_diff), on this strand.
    std::shared_ptr<const std::vector<held_job>> held;
  };
  std::unique_ptr<resume_point> resume_;
  // Shared by every stream of a route: a pointer, not a copy each.
  const std::shared_ptr<const stream_options> options_;

  send_queue queue_;
  std::size_t in_flight_ = 0;  // messages of the batch being written
  // Made when a write first stays in flight (most streams never need it).
  std::unique_ptr<net::steady_timer> stall_timer_;
  std::uint64_t start_revision_ = 0;  // events at or below it are in the start already
  bool started_ = false;
  bool start_asked_ = false;  // the hub owes this stream a start (attach or rescope)
  bool start_stale_ = false;  // the scope changed since it was asked
  bool writing_ = false;
  bool pumping_ = false;         // pump() is writing batches
  bool stall_armed_ = false;     // stall_timer_ waits for the write in flight
  bool expiry_watched_ = false;  // the hub's expiry_sweep holds this stream
  bool closing_ = false;
  bool finished_ = false;
  connection_slot slot_;
  stream_end end_reason_ = stream_end::client;
};

}  // namespace progress::bridge
