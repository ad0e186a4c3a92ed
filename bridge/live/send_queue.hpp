#pragma once
// The bounded, conflating send queue of one live stream (docs/protocol.md,
// "Flow control"): the messages waiting for the client and the batch being
// written.
//
// A client that reads slower than its jobs change only needs the latest
// state of each job: a pending update is replaced by a newer one of the same
// job, which moves to the back so the queue stays in revision order (the
// cursor of each sent message then still means "everything up to here was
// delivered or superseded by something delivered"). Terminal states and
// removals are never replaced. The session's own messages (pong, error) are
// never conflated either; a snapshot or resume waiting to be sent is dropped
// when a newer one supersedes it (drop_superseded).
//
// A stream's first message is its snapshot or resume (docs/protocol.md): an
// own message queued before it (`waits_for_view`, a pong to an early ping)
// is held, and the first snapshot or resume queued goes ahead of it.
//
// Capacity rules (send_queue_limits):
// - at most `messages` pending: a push that finds the queue full after
//   conflation is refused (push_result::full; the session closes with 4008).
//   Conflation scans the pending messages, so its cost is bounded by it.
// - at most `bytes` of job changes and own messages held, pending and in
//   flight together: a push that would pass it is refused
//   (push_result::over_budget; the session closes with 4009).
// - a snapshot or resume is never refused for its size (a client needs it
//   whole, and one can be bigger than the budget); it is counted apart, and
//   drop_superseded() keeps at most one pending besides one in flight.
// A message counts the text it holds (outgoing_message::bytes).
//
// Memory: an idle stream's queue holds no allocation (most streams are idle
// most of the time); a queue drained after a batch with a job change keeps a
// small capacity for the next burst, one drained after only a snapshot or the
// session's own messages keeps none.
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "stream_event.hpp"

namespace progress::bridge {

// A job change, or one of the session's own messages.
struct outgoing_message {
  std::shared_ptr<const stream_event> event;
  std::shared_ptr<const std::string> text;  // set when `event` is not
  // A snapshot or resume: the start of the client's view, superseded by a newer one.
  bool starts_view = false;
  // Held until a snapshot or resume is queued, which then goes ahead of it.
  bool waits_for_view = false;

  // The text it holds: an own message's, or a job change's (streams share
  // one copy of it, and each counts it).
  [[nodiscard]] std::size_t bytes() const noexcept {
    if (event) return event->bytes();
    return text ? text->size() : 0;
  }
};

enum class push_result { queued, conflated, full, over_budget };

struct send_queue_limits {
  std::size_t messages = 1024;      // pending, after conflation
  std::size_t bytes = 1024 * 1024;  // job changes and own messages held: pending and in flight
};

class send_queue {
 public:
  explicit send_queue(send_queue_limits limits)
      : limits_{limits.messages == 0 ? 1 : limits.messages, limits.bytes} {}

  // `conflate` false queues the message as it is (a resume replays every
  // missed change: each one counts).
  push_result push(outgoing_message message, bool conflate = true);
  // Queues past every limit: the last message of a stream, after clear().
  void push_final(outgoing_message message);
  // A fresh snapshot supersedes every pending job change and a pending
  // snapshot or resume; the session's own messages stay.
  void drop_superseded();
  // Drops every pending message; the batch in flight stays until written.
  void clear();

  // Moves up to `max` pending messages (at least one when ready()) into the
  // batch in flight, none that waits for a view; no batch may be in flight.
  // The span stays valid until end_batch().
  [[nodiscard]] std::span<const outgoing_message> start_batch(std::size_t max);
  // The batch in flight was written or failed: releases it.
  void end_batch();

  [[nodiscard]] bool empty() const noexcept { return head_ == items_.size(); }
  // A message can be written: one is pending and it does not wait for a view.
  [[nodiscard]] bool ready() const noexcept { return !empty() && !items_[head_].waits_for_view; }
  [[nodiscard]] std::size_t size() const noexcept { return items_.size() - head_; }
  // Bytes held, pending and in flight: all of them, and those the budget counts
  // (every message but snapshots and resumes).
  [[nodiscard]] std::size_t bytes() const noexcept { return pending_bytes_ + batch_bytes_; }
  [[nodiscard]] std::size_t budgeted_bytes() const noexcept { return bytes() - view_bytes_; }

 private:
  // Capacity a drained queue may keep.
  static constexpr std::size_t kept_capacity = 16;

  // Pending-bytes bookkeeping of a message joining or leaving the pending ones.
  void add_pending(const outgoing_message& message);
  void forget(const outgoing_message& message);
  void erase_pending(std::vector<outgoing_message>::iterator at);
  void compact();

  const send_queue_limits limits_;
  // Pending messages are items_[head_ ...]; those before head_ are moved-from
  // and dropped when the queue drains or half of it was taken.
  std::vector<outgoing_message> items_;
  std::size_t head_ = 0;
  std::size_t pending_bytes_ = 0;
  std::vector<outgoing_message> batch_;
  std::size_t batch_bytes_ = 0;
  std::size_t view_bytes_ = 0;  // of snapshots and resumes, pending or in flight
};

}  // namespace progress::bridge
