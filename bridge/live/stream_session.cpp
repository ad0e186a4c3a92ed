#include "stream_session.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>
#include <boost/asio/defer.hpp>

#include "rate_limited_log.hpp"
#include "store_cursor.hpp"

namespace progress::bridge {

std::string_view to_string(stream_end reason) noexcept {
  switch (reason) {
    case stream_end::client: return "client";
    case stream_end::shutdown: return "shutdown";
    case stream_end::token_expired: return "token_expired";
    case stream_end::slow_consumer: return "slow_consumer";
    case stream_end::over_budget: return "over_budget";
    case stream_end::op_flood: return "op_flood";
    case stream_end::error: return "error";
  }
  return "error";
}

stream_session::stream_session(connection_executor executor, std::shared_ptr<stream_hub> hub,
                               metrics& metrics, stream_framing framing, principal who, stream_scope scope,
                               std::optional<std::uint64_t> resume_after, std::string resume_cursor,
                               std::shared_ptr<const stream_options> options)
    : executor_(std::move(executor)),
      hub_(std::move(hub)),
      metrics_(metrics),
      framing_(framing),
      who_(std::move(who)),
      scope_(std::move(scope)),
      resume_(resume_after
                  ? std::make_unique<resume_point>(resume_point{resume_after, std::move(resume_cursor), {}})
                  : nullptr),
      options_(std::move(options)),
      queue_(send_queue_limits{.messages = options_->queue_limit, .bytes = options_->queue_bytes}) {
  hub_->stream_opened();
  metrics_.stream_opened(to_string(framing_));
}

stream_session::~stream_session() {
  unwatch_expiry();
  hub_->stream_closed();
  metrics_.stream_closed(to_string(framing_), to_string(end_reason_));
}

void stream_session::on_start(std::shared_ptr<const stream_start> start) {
  net::post(executor_, [self = self(), start = std::move(start)] { self->start(*start); });
}

void stream_session::on_event(const std::shared_ptr<const stream_event>& event) {
  // Deferred, not posted: the deliveries of one ingest batch queue on the hub's
  // own thread and run there once the batch is done, instead of waking another
  // thread for each (on 2 cores that cost about a fifth of the CPU per message).
  net::defer(executor_, [self = self(), event] { self->deliver(event); });
}

void stream_session::on_shutdown() {
  net::post(executor_, [self = self()] { self->end(stream_end::shutdown); });
}

void stream_session::expire() {
  net::post(executor_, [self = self()] { self->end(stream_end::token_expired); });
}

void stream_session::unwatch_expiry() {
  if (!expiry_watched_) return;
  expiry_watched_ = false;
  hub_->expiry().unwatch(*this, expiry_deadline());
}

std::string stream_session::cursor(std::uint64_t revision) const {
  return store_cursor{hub_->epoch(), revision}.to_string();
}

void stream_session::begin(std::shared_ptr<const std::vector<held_job>> held) {
  if (held) {
    if (!resume_) resume_ = std::make_unique<resume_point>();
    resume_->held = std::move(held);
  }
  start_asked_ = true;
  hub_->attach(self(), scope_.user_id, resume_ ? resume_->after : std::nullopt);
  if (expiry_deadline() <= std::chrono::system_clock::now()) return expire();
  expiry_watched_ = true;
  hub_->expiry().watch(*this, expiry_deadline());
}

void stream_session::finish() {
  if (finished_) return;
  finished_ = true;
  closing_ = true;
  unwatch_expiry();
  if (stall_timer_) stall_timer_->cancel();
  queue_.clear();
  hub_->detach(self());
}

void stream_session::start(const stream_start& start) {
  if (closing_) return;
  start_asked_ = false;
  if (start_stale_) {
    // Asked for an older scope: a snapshot of the current one supersedes it.
    // Changes meanwhile are filtered by the current scope (dropped before the
    // first start); the snapshot, at a later revision than all of them,
    // replaces those still pending when it arrives.
    start_stale_ = false;
    start_asked_ = true;
    hub_->rescope(self(), scope_.user_id);
    return;
  }
  started_ = true;
  start_revision_ = start.revision;
  // The client replaces its view with this start: pending changes and a
  // pending older snapshot are moot (every one of them is at or below
  // start.revision, as the hub posted them before this start).
  queue_.drop_superseded();
  if (start.resumed) {
    // The hub resumes only a stream that asked to, with its cursor.
    static const std::string no_cursor;
    const std::string& resumed_at = resume_ ? resume_->cursor : no_cursor;
    if (!send_view_start(wire::resume_message(resumed_at), "resume", resumed_at)) return;
    for (const auto& change : start.changes) {
      // Every missed change, not only the latest of each job: recovered means all of them.
      if (scope_.covers(change->key, change->job.get())) queue(outgoing_message{change, nullptr}, false);
    }
  } else {
    const std::string at = cursor(start.revision);
    std::string json;
    // A truncated snapshot lacks jobs the store holds: they would be reported removed.
    if (resume_ && resume_->held && !start.truncated) {
      const auto diff = diff_states(start.jobs, *resume_->held, scope_.user_id);
      json = wire::state_snapshot_message(diff.jobs, diff.removed, diff.unchanged, scope_, at);
    } else {
      json = wire::snapshot_message(start.jobs, scope_, at, start.truncated);
    }
    if (!send_view_start(std::move(json), "snapshot", at)) return;
  }
  // Later starts (a subscribe op) are snapshots of the new scope.
  resume_.reset();
  pump();
}

void stream_session::deliver(const std::shared_ptr<const stream_event>& event) {
  if (closing_ || !started_ || event->revision <= start_revision_) return;
  if (!scope_.covers(event->key, event->job.get())) return;
  queue(outgoing_message{event, nullptr});
  pump();
}

void stream_session::queue(outgoing_message message, bool conflate) {
  if (closing_) return;
  switch (queue_.push(std::move(message), conflate)) {
    case push_result::queued: break;
    case push_result::conflated: metrics_.stream_message_conflated(); break;
    case push_result::full:
      outsider_log().log("stream", spdlog::level::debug,
                         "{} stream of {}: {} messages pending, closing a slow consumer", to_string(framing_),
                         who_.user_id, queue_.size());
      end(stream_end::slow_consumer);
      break;
    case push_result::over_budget:
      spdlog::debug("{} stream of {}: {} bytes held, closing it over its budget", to_string(framing_),
                    who_.user_id, queue_.bytes());
      end(stream_end::over_budget);
      break;
  }
}

bool stream_session::send_view_start(std::string json, std::string_view type, std::string_view cursor) {
  if (closing_) return false;
  queue(outgoing_message{
      nullptr, std::make_shared<const std::string>(wire::frame(framing_, type, cursor, std::move(json))),
      /*starts_view=*/true});
  pump();
  return !closing_;
}

bool stream_session::send_own(std::string json, std::string_view type, std::string_view cursor) {
  // Before the first snapshot or resume, held until it is queued (it goes first).
  return send_text(wire::frame(framing_, type, cursor, std::move(json)), /*waits_for_view=*/!started_);
}

bool stream_session::send_framed(std::string text) {
  return send_text(std::move(text), false);
}

bool stream_session::send_text(std::string text, bool waits_for_view) {
  if (closing_) return false;
  queue(outgoing_message{.event = nullptr,
                         .text = std::make_shared<const std::string>(std::move(text)),
                         .waits_for_view = waits_for_view});
  pump();
  return !closing_;
}

void stream_session::send_final(std::string text) {
  // Past the limits on purpose: it is the last message, and the queue was cleared.
  queue_.clear();
  queue_.push_final(outgoing_message{nullptr, std::make_shared<const std::string>(std::move(text))});
  pump();
}

void stream_session::change_scope(stream_scope scope) {
  if (closing_) return;
  scope_ = std::move(scope);
  if (resume_) resume_->held.reset();  // the client asked for another view: a full snapshot of it
  // Until the fresh snapshot arrives, events are filtered by the new scope.
  if (start_asked_) {
    start_stale_ = true;  // at most one start asked of the hub at a time
    return;
  }
  start_asked_ = true;
  hub_->rescope(self(), scope_.user_id);
}

void stream_session::pump() {
  if (pumping_) return;  // a write completed inside write(): the loop below goes on
  pumping_ = true;
  while (!writing_ && !finished_ && queue_.ready()) {
    const auto batch = queue_.start_batch(std::min(batch_limit(), options_->max_batch));
    in_flight_ = batch.size();
    writing_ = true;
    write(batch);
  }
  pumping_ = false;
  // Only a write still in flight can stall (one the socket took at once never arms the timer).
  if (writing_ && !stall_armed_) {
    stall_armed_ = true;
    if (!stall_timer_) stall_timer_ = std::make_unique<net::steady_timer>(executor_);
    stall_timer_->expires_after(options_->stall_timeout);
    stall_timer_->async_wait([self = self()](boost::system::error_code ec) {
      if (!ec && self->writing_) self->end(stream_end::slow_consumer);
    });
  }
}

void stream_session::on_written(boost::system::error_code ec) {
  writing_ = false;
  if (stall_armed_) {
    stall_armed_ = false;
    stall_timer_->cancel();
  }
  const std::size_t sent = in_flight_;
  in_flight_ = 0;
  queue_.end_batch();
  if (ec) {
    outsider_log().log("stream", spdlog::level::debug, "{} stream of {}: write: {}", to_string(framing_),
                       who_.user_id, ec.message());
    if (!closing_) end(stream_end::error);
    return;
  }
  metrics_.stream_messages_sent(sent);
  if (queue_.empty()) {
    on_drained();
    return;
  }
  pump();
}

void stream_session::end(stream_end reason) {
  if (finished_) return;
  if (!closing_) {
    closing_ = true;
    end_reason_ = reason;
    if (reason != stream_end::client && reason != stream_end::shutdown)
      outsider_log().log("stream", spdlog::level::debug, "{} stream of {} ends: {}", to_string(framing_),
                         who_.user_id, to_string(reason));
    queue_.clear();
  }
  close_transport(reason);
}

}  // namespace progress::bridge
