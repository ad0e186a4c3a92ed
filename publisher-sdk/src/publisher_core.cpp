#include "publisher_core.hpp"

#include <algorithm>
#include <exception>

#include "progress/protocol/control_message.hpp"

namespace progress::detail {
namespace {

using namespace std::chrono_literals;

// Queues `error` for on_error (the timer thread calls it); any thread.
void queue_error(shared_state& state, const std::string& topic, const publish_error& error) noexcept {
  try {
    const std::lock_guard lock(state.mutex);
    if (state.report_errors && state.errors.size() < max_queued_errors) {
      state.errors.emplace_back(topic, error);
      state.wake.notify_one();
    }
  } catch (...) {
    // Allocation failure: the error is lost, nothing else.
  }
}

// A message on a control topic, on the transport's thread: parsed, and a
// cancel request handed to every handle that follows the topic. Malformed
// messages are only reported; other actions are for newer workers.
void route_control(const std::shared_ptr<control_registry>& registry,
                   const std::shared_ptr<shared_state>& state, const std::string& topic,
                   const std::string& payload) noexcept {
  try {
    if (payload.empty()) return;  // cleared: the job ended
    std::vector<std::shared_ptr<job_control>> targets;
    {
      const std::lock_guard lock(registry->mutex);
      const auto it = registry->by_topic.find(topic);
      if (it == registry->by_topic.end()) return;
      for (const auto& weak : it->second) {
        if (auto control = weak.lock()) targets.push_back(std::move(control));
      }
    }
    const auto parsed = parse_control(payload);
    if (!parsed) {
      queue_error(*state, topic,
                  publish_error(publish_errc::invalid_control,
                                "ignored a control message (" + std::string(to_string(parsed.error->reason)) +
                                    "): " + parsed.error->message));
      return;
    }
    if (!parsed.message->is_cancel()) return;
    const cancel_request request{parsed.message->request_id, parsed.message->requested_by,
                                 parsed.message->timestamp};
    for (const auto& control : targets) control->receive(request);
  } catch (...) {
    // Never throw into the transport's thread.
  }
}

// Settles one message's outcome; runs on whatever thread the transport uses.
void settle(const std::shared_ptr<shared_state>& state, const std::string& topic,
            const std::shared_ptr<std::promise<void>>& outcome, const std::optional<publish_error>& error,
            bool counted) noexcept {
  try {
    {
      const std::lock_guard lock(state->mutex);
      if (counted && state->in_flight > 0) --state->in_flight;
    }
    if (error) queue_error(*state, topic, *error);
    if (error) {
      outcome->set_exception(std::make_exception_ptr(*error));
    } else {
      outcome->set_value();
    }
  } catch (...) {
    // A second completion of the same message (a transport bug) or an
    // allocation failure: the first outcome stands.
  }
}

pending_message new_pending() {
  auto outcome = std::make_shared<std::promise<void>>();
  auto future = outcome->get_future().share();
  return pending_message{{}, std::move(outcome), std::move(future)};
}

}  // namespace

void job_control::receive(const cancel_request& request) {
  cancel_handler handler;
  {
    const std::lock_guard lock(mutex_);
    if (std::find(seen_.begin(), seen_.end(), request.request_id) != seen_.end()) return;
    seen_.push_back(request.request_id);
    if (seen_.size() > max_remembered_requests) seen_.pop_front();
    last_ = request;
    requested_ = true;
    if (!handler_) {
      undelivered_.push_back(request);
      if (undelivered_.size() > max_remembered_requests) undelivered_.pop_front();
      return;
    }
    handler = handler_;
  }
  try {
    handler(request);
  } catch (...) {
    // The application's handler must not end the transport's thread.
  }
}

void job_control::set_handler(cancel_handler handler) {
  std::deque<cancel_request> waiting;
  {
    const std::lock_guard lock(mutex_);
    handler_ = handler;
    if (handler_) waiting.swap(undelivered_);
  }
  for (const auto& request : waiting) {
    try {
      handler(request);
    } catch (...) {
      // As in receive(): the handler's exception goes no further.
    }
  }
}

std::optional<cancel_request> job_control::last() const {
  const std::lock_guard lock(mutex_);
  return last_;
}

publisher_core::publisher_core(publisher_options options, std::shared_ptr<message_transport> transport,
                               std::shared_ptr<publisher_clock> clock)
    : options_(std::move(options)), transport_(std::move(transport)), clock_(std::move(clock)) {
  state_->report_errors = static_cast<bool>(options_.on_error);
  transport_->set_message_handler(
      [registry = controls_, state = state_](const std::string& topic, const std::string& payload) {
        route_control(registry, state, topic, payload);
      });
}

void publisher_core::follow(const std::shared_ptr<job_control>& control) {
  bool first = false;
  {
    const std::lock_guard lock(controls_->mutex);
    auto& followers = controls_->by_topic[control->topic()];
    first = followers.empty();
    followers.push_back(control);
  }
  if (!first) return;
  transport_->subscribe(control->topic(), [state = state_, topic = control->topic()](
                                              const std::optional<publish_error>& error) {
    if (error) queue_error(*state, topic, *error);
  });
}

void publisher_core::unfollow(const std::shared_ptr<job_control>& control) {
  bool last = false;
  {
    const std::lock_guard lock(controls_->mutex);
    const auto it = controls_->by_topic.find(control->topic());
    if (it == controls_->by_topic.end()) return;
    std::erase_if(it->second, [&](const auto& weak) {
      const auto held = weak.lock();
      return !held || held == control;
    });
    if (it->second.empty()) {
      controls_->by_topic.erase(it);
      last = true;
    }
  }
  if (last) transport_->unsubscribe(control->topic());
}

publisher_core::~publisher_core() {
  close();
}

void publisher_core::start() {
  transport_->connect();
  timer_ = std::thread([this] { run_timer(); });
}

void publisher_core::close() {
  {
    const std::lock_guard lock(state_->mutex);
    if (closed_) return;
    closed_ = true;
    take_due_locked(clock_->now(), /*all=*/true);
    stopping_ = true;
  }
  state_->wake.notify_all();
  drain();
  if (timer_.joinable()) timer_.join();
  transport_->disconnect();
}

std::shared_ptr<job_slot> publisher_core::open_slot(std::string topic) {
  auto slot = std::make_shared<job_slot>();
  slot->topic = std::move(topic);
  return slot;
}

void publisher_core::release_locked(job_slot& slot, publisher_clock::time_point now) {
  if (!slot.pending) return;
  outbox_.push_back(outgoing{slot.topic, std::move(*slot.pending)});
  slot.pending.reset();
  slot.last_sent = now;
  if (slot.scheduled) {
    slot.scheduled = false;
    std::erase_if(scheduled_, [&slot](const auto& entry) { return entry.get() == &slot; });
  }
}

delivery publisher_core::submit(const std::shared_ptr<job_slot>& slot, std::string payload, bool urgent) {
  std::shared_future<void> future;
  {
    const std::lock_guard lock(state_->mutex);
    if (closed_) return delivery::failed(publish_error(publish_errc::closed, "the publisher is closed"));
    if (!slot->pending) slot->pending = new_pending();
    slot->pending->payload = std::move(payload);
    future = slot->pending->future;

    const auto now = clock_->now();
    const bool interval_passed = !slot->last_sent || now - *slot->last_sent >= options_.throttle_interval;
    if (urgent || interval_passed) {
      release_locked(*slot, now);
    } else if (!slot->scheduled) {
      slot->scheduled = true;
      scheduled_.push_back(slot);
      state_->wake.notify_one();
    }
  }
  drain();
  return delivery(std::move(future));
}

void publisher_core::flush(job_slot& slot) {
  {
    const std::lock_guard lock(state_->mutex);
    release_locked(slot, clock_->now());
  }
  drain();
}

void publisher_core::flush_all() {
  {
    const std::lock_guard lock(state_->mutex);
    take_due_locked(clock_->now(), /*all=*/true);
  }
  drain();
}

void publisher_core::flush_due() {
  {
    const std::lock_guard lock(state_->mutex);
    take_due_locked(clock_->now(), /*all=*/false);
  }
  drain();
}

std::optional<publisher_clock::time_point> publisher_core::take_due_locked(publisher_clock::time_point now,
                                                                           bool all) {
  std::optional<publisher_clock::time_point> next;
  // Copy: release_locked() edits scheduled_.
  const auto candidates = scheduled_;
  for (const auto& slot : candidates) {
    const auto due = slot->last_sent.value_or(now) + options_.throttle_interval;
    if (all || due <= now) {
      release_locked(*slot, now);
    } else if (!next || due < *next) {
      next = due;
    }
  }
  return next;
}

void publisher_core::drain() {
  const std::lock_guard send_lock(send_mutex_);
  for (;;) {
    outgoing next;
    bool over_limit = false;
    {
      const std::lock_guard lock(state_->mutex);
      if (outbox_.empty()) return;
      next = std::move(outbox_.front());
      outbox_.pop_front();
      if (state_->in_flight >= options_.max_buffered) {
        over_limit = true;
      } else {
        ++state_->in_flight;
      }
    }
    if (over_limit) {
      settle(state_, next.topic, next.message.outcome,
             publish_error(publish_errc::buffer_full, "offline buffer full (" +
                                                          std::to_string(options_.max_buffered) +
                                                          " messages await acknowledgement)"),
             /*counted=*/false);
      continue;
    }
    transport_->publish(next.topic, std::move(next.message.payload), 1, true,
                        [state = state_, topic = next.topic,
                         outcome = next.message.outcome](const std::optional<publish_error>& error) {
                          settle(state, topic, outcome, error, /*counted=*/true);
                        });
  }
}

void publisher_core::run_timer() {
  std::unique_lock lock(state_->mutex);
  while (!stopping_) {
    if (!state_->errors.empty()) {
      auto errors = std::exchange(state_->errors, {});
      lock.unlock();
      for (const auto& [topic, error] : errors) {
        try {
          options_.on_error(topic, error);
        } catch (...) {
          // The application's callback must not stop progress reporting.
        }
      }
      lock.lock();
      continue;
    }
    const auto now = clock_->now();
    const auto next_due = take_due_locked(now, /*all=*/false);
    if (!outbox_.empty()) {
      lock.unlock();
      drain();
      lock.lock();
      continue;
    }
    if (next_due) {
      // Sleeps for the time left by the publisher's clock. A manual clock in
      // tests does not wake this thread; those tests call flush_due().
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*next_due - now);
      state_->wake.wait_for(lock,
                            std::clamp(left, std::chrono::milliseconds{1},
                                       std::max(options_.throttle_interval, std::chrono::milliseconds{1})));
    } else {
      state_->wake.wait(lock);
    }
  }
}

}  // namespace progress::detail
