#pragma once
// The bounded, conflating send queue of one live stream (docs/protocol.md,
// "Flow control").
//
// A client that reads slower than its jobs change only needs the latest
// state of each job: a pending update is replaced by a newer one of the same
// job, which moves to the back so the queue stays in revision order (the
// cursor of each sent message then still means "everything up to here was
// delivered or superseded by something delivered"). Terminal states and
// removals are never replaced. The session's own messages (snapshot, pong,
// error) are never conflated either.
//
// Capacity rule: at most `limit` messages wait. A push that finds the queue
// full after conflation is refused (push_result::full): the session is then
// a slow consumer and is closed (close code 4008); it resumes with its cursor.
// Conflation scans the pending messages, so its cost is bounded by `limit`.
//
// Memory: an idle stream's queue holds no allocation (most streams are idle
// most of the time); a drained queue keeps a small capacity for the next burst.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stream_event.hpp"

namespace progress::bridge {

// A job change, or one of the session's own messages.
struct outgoing_message {
  std::shared_ptr<const stream_event> event;
  std::shared_ptr<const std::string> text;  // set when `event` is not
};

enum class push_result { queued, conflated, full };

class send_queue {
 public:
  explicit send_queue(std::size_t limit) : limit_(limit == 0 ? 1 : limit) {}

  // `conflate` false queues the message as it is (a resume replays every
  // missed change: each one counts).
  push_result push(outgoing_message message, bool conflate = true);
  // Drops every pending job change (a fresh snapshot supersedes them) and
  // keeps the session's own messages.
  void drop_events();
  void clear();

  [[nodiscard]] bool empty() const noexcept { return head_ == items_.size(); }
  [[nodiscard]] std::size_t size() const noexcept { return items_.size() - head_; }
  // The oldest message; the queue must not be empty.
  [[nodiscard]] outgoing_message pop();

 private:
  // Capacity a drained queue may keep.
  static constexpr std::size_t kept_capacity = 16;

  const std::size_t limit_;
  // Pending messages are items_[head_ ...]; popped ones before head_ are
  // moved-from and dropped when the queue drains or half of it is popped.
  std::vector<outgoing_message> items_;
  std::size_t head_ = 0;
};

}  // namespace progress::bridge
