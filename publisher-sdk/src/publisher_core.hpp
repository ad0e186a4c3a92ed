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

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "progress/publisher/cancel_request.hpp"
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

// Cancellation requests remembered per job, so that one delivered again (the
// retained message, after a reconnect) reaches the handler once; older ids
// are forgotten first.
inline constexpr std::size_t max_remembered_requests = 16;

// The control side of one job handle: the requests that reached it. Shared
// with the transport's message thread, which calls receive().
class job_control {
 public:
  explicit job_control(std::string topic) : topic_(std::move(topic)) {}

  [[nodiscard]] const std::string& topic() const noexcept { return topic_; }
  // On the transport's thread: hands a request the handler has not seen to it.
  void receive(const cancel_request& request);
  // Sets the handler and hands it, at once, the requests that came before.
  void set_handler(cancel_handler handler);
  [[nodiscard]] bool requested() const noexcept { return requested_.load(); }
  [[nodiscard]] std::optional<cancel_request> last() const;

 private:
  const std::string topic_;
  mutable std::mutex mutex_;
  cancel_handler handler_;
  std::deque<std::string> seen_;            // at most max_remembered_requests
  std::deque<cancel_request> undelivered_;  // arrived without a handler; same bound
  std::optional<cancel_request> last_;
  std::atomic<bool> requested_{false};
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

// The job handles that follow each control topic; shared with the transport's
// message handler. Bounded by the live job handles.
struct control_registry {
  std::mutex mutex;
  std::map<std::string, std::vector<std::weak_ptr<job_control>>> by_topic;
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

  // Subscribes the job's control topic (once for all handles of one job) and
  // routes its requests to `control` until unfollow().
  void follow(const std::shared_ptr<job_control>& control);
  void unfollow(const std::shared_ptr<job_control>& control);

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
  const std::shared_ptr<control_registry> controls_ = std::make_shared<control_registry>();

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
