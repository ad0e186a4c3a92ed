#pragma once
// Internal: throttling, ordering and delivery bookkeeping shared by a
// publisher and its job handles.
//
// Locking: `shared_state::mutex` guards everything below and is only ever held
// briefly; `send_mutex_` serialises hand-over to the transport so that
// messages leave in the order they were queued (the retained state must be
// the newest). The transport is never called with `shared_state::mutex` held,
// and completions only take that mutex, so a completion running inside
// publish() cannot deadlock.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "progress/publisher/delivery.hpp"
#include "progress/publisher/message_transport.hpp"
#include "progress/publisher/publisher_clock.hpp"
#include "progress/publisher/publisher_options.hpp"

namespace progress::detail {

// Errors waiting for the on_error callback. When full, newer errors are not
// queued for the callback (their deliveries still hold them).
inline constexpr std::size_t max_queued_errors = 256;

// One message not yet handed to the transport. Every update it absorbed
// shares its outcome.
struct pending_message {
  std::string payload;
  std::shared_ptr<std::promise<void>> outcome;
  std::shared_future<void> future;
};

struct job_slot {
  std::string topic;
  std::optional<pending_message> pending;
  std::optional<publisher_clock::time_point> last_sent;
  bool scheduled = false;
};

// What completions touch; owned jointly with in-flight callbacks so that a
// late acknowledgement never reaches a destroyed publisher.
struct shared_state {
  std::mutex mutex;
  std::condition_variable wake;
  std::size_t in_flight = 0;
  bool report_errors = false;
  std::deque<std::pair<std::string, publish_error>> errors;
};

class publisher_core {
 public:
  publisher_core(publisher_options options, std::shared_ptr<message_transport> transport,
                 std::shared_ptr<publisher_clock> clock);
  ~publisher_core();
  publisher_core(const publisher_core&) = delete;
  publisher_core& operator=(const publisher_core&) = delete;

  // Connects the transport and starts the timer thread.
  void start();
  void close();

  [[nodiscard]] std::shared_ptr<job_slot> open_slot(std::string topic);
  // Queues `payload` as the newest state of the slot's job. Urgent messages
  // (and any message whose interval has passed) leave before this returns.
  [[nodiscard]] delivery submit(const std::shared_ptr<job_slot>& slot, std::string payload, bool urgent);
  void flush(job_slot& slot);
  void flush_all();
  void flush_due();

  [[nodiscard]] const publisher_options& options() const noexcept { return options_; }
  [[nodiscard]] const publisher_clock& clock() const noexcept { return *clock_; }

 private:
  struct outgoing {
    std::string topic;
    pending_message message;
  };

  void release_locked(job_slot& slot, publisher_clock::time_point now);
  // Moves due (or, with `all`, every) pending message to the outbox; returns
  // when the next remaining one falls due.
  std::optional<publisher_clock::time_point> take_due_locked(publisher_clock::time_point now, bool all);
  void drain();
  void run_timer();

  const publisher_options options_;
  const std::shared_ptr<message_transport> transport_;
  const std::shared_ptr<publisher_clock> clock_;
  const std::shared_ptr<shared_state> state_ = std::make_shared<shared_state>();

  // Guarded by state_->mutex. Every caller drains the outbox before
  // returning, so it holds at most one message per live job handle.
  std::deque<outgoing> outbox_;
  std::vector<std::shared_ptr<job_slot>> scheduled_;  // bounded by the live job handles
  bool closed_ = false;
  bool stopping_ = false;

  std::mutex send_mutex_;
  std::thread timer_;
};

}  // namespace progress::detail
