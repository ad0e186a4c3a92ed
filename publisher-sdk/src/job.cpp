#include "progress/publisher/job.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "progress/protocol/validation.hpp"
#include "progress/publisher/validation_error.hpp"
#include "publisher_core.hpp"

namespace progress {
namespace {

[[noreturn]] void refuse(reject_reason reason, std::string field, std::string message) {
  throw validation_error(rejection{reason, std::move(field), std::move(message)});
}

// A phase change, a new status or a new attempt is news a viewer should see at
// once; only repeated updates inside one phase are throttled.
bool is_urgent(const job_state& previous, const job_state& next, bool first) {
  return first || is_terminal(next.status) || next.status != previous.status ||
         next.phase != previous.phase || next.total_phases != previous.total_phases ||
         next.attempt != previous.attempt;
}

}  // namespace

job::job(std::shared_ptr<detail::publisher_core> core, job_key key, const job_options& options)
    : core_(std::move(core)),
      follow_control_(options.follow_control),
      key_(std::move(key)),
      next_seq_(options.first_seq) {
  state_.type = options.type;
  state_.attempt = options.attempt;
  if (options.stall_after) state_.stall_after_ms = options.stall_after->count();
  slot_ = core_->open_slot(job_topic(key_));
  control_ = std::make_shared<detail::job_control>(control_topic(key_));
  if (options.on_cancel) control_->set_handler(options.on_cancel);
  follow_control(follow_control_);
}

void job::follow_control(bool follow) {
  if (!core_ || follow == following_) return;
  if (follow) {
    core_->follow(control_);
  } else {
    core_->unfollow(control_);
  }
  following_ = follow;
}

void job::on_cancel(cancel_handler handler) {
  if (!control_) throw std::logic_error("progress::job used after being moved from");
  control_->set_handler(std::move(handler));
}

bool job::cancel_requested() const noexcept {
  return control_ && control_->requested();
}

std::optional<cancel_request> job::last_cancel_request() const {
  return control_ ? control_->last() : std::nullopt;
}

job& job::operator=(job&& other) noexcept {
  if (this != &other) {
    if (core_ && slot_) core_->flush(*slot_);
    if (core_ && control_) follow_control(false);
    core_ = std::move(other.core_);
    slot_ = std::move(other.slot_);
    control_ = std::move(other.control_);
    follow_control_ = other.follow_control_;
    following_ = std::exchange(other.following_, false);
    key_ = std::move(other.key_);
    state_ = std::move(other.state_);
    next_seq_ = other.next_seq_;
    sent_any_ = other.sent_any_;
    removed_ = other.removed_;
  }
  return *this;
}

job::~job() {
  if (!core_ || !slot_) return;
  try {
    core_->flush(*slot_);
    follow_control(false);
  } catch (...) {
    // Only allocation can fail here; a destructor must not throw.
  }
}

job_state job::draft() const {
  job_state next = state_;
  // Stamped afresh by send().
  next.seq.reset();
  next.timestamp.reset();
  return next;
}

job_state job::in_progress() const {
  job_state next = draft();
  next.status = job_status::in_progress;
  return next;
}

delivery job::start(std::optional<std::string> message) {
  job_state next = draft();
  next.status = job_status::started;
  if (message) next.message = std::move(message);
  return send(std::move(next));
}

delivery job::phase(std::int64_t index, std::int64_t total, std::string title,
                    std::optional<std::string> description) {
  job_state next = in_progress();
  next.phase = index;
  next.total_phases = total;
  next.phase_title = std::move(title);
  // The previous phase's message, detail and counter do not describe this one.
  next.message = std::move(description);
  next.detail.reset();
  next.current.reset();
  next.total.reset();
  return send(std::move(next));
}

delivery job::progress(double percent, std::optional<std::string> message,
                       std::optional<std::string> detail) {
  job_state next = in_progress();
  next.progress = percent;
  if (message) next.message = std::move(message);
  if (detail) next.detail = std::move(detail);
  return send(std::move(next));
}

delivery job::counter(std::int64_t current, std::int64_t total, std::optional<std::string> message) {
  job_state next = in_progress();
  next.current = current;
  next.total = total;
  if (total > 0 && current >= 0) {
    next.progress = std::min(100.0, 100.0 * static_cast<double>(current) / static_cast<double>(total));
  }
  if (message) next.message = std::move(message);
  return send(std::move(next));
}

delivery job::eta(std::optional<std::chrono::milliseconds> remaining) {
  job_state next = draft();
  next.eta_ms = remaining ? std::optional<std::int64_t>(remaining->count()) : std::nullopt;
  return send(std::move(next));
}

delivery job::complete(nlohmann::json details) {
  job_state next = draft();
  next.status = job_status::completed;
  next.progress = 100.0;
  next.eta_ms.reset();
  // An empty object adds nothing; anything but an object is refused by validation.
  if (!details.is_null() && !(details.is_object() && details.empty())) {
    try {
      next.details = raw_json(details);
    } catch (const nlohmann::json::exception&) {
      refuse(reject_reason::invalid_utf8, "details", "details contains text that is not valid UTF-8");
    }
  }
  return send(std::move(next));
}

delivery job::fail(job_error error) {
  job_state next = draft();
  next.status = job_status::failed;
  next.eta_ms.reset();
  next.error = std::move(error);
  return send(std::move(next));
}

delivery job::fail(std::string message, std::optional<std::string> code) {
  return fail(job_error{std::move(message), std::move(code)});
}

delivery job::cancel(std::optional<std::string> message) {
  job_state next = draft();
  next.status = job_status::cancelled;
  next.eta_ms.reset();
  if (message) next.message = std::move(message);
  return send(std::move(next));
}

delivery job::remove() {
  if (!core_) throw std::logic_error("progress::job used after being moved from");
  if (removed_) refuse(reject_reason::invalid_value, "", "job " + key_.job_id + " was already removed");
  removed_ = true;
  follow_control(false);
  return core_->submit(slot_, std::string{}, /*urgent=*/true);
}

delivery job::update(job_state next) {
  return send(std::move(next));
}

delivery job::send(job_state next) {
  if (!core_) throw std::logic_error("progress::job used after being moved from");
  if (removed_) refuse(reject_reason::invalid_value, "", "job " + key_.job_id + " was removed");

  if (!next.user_id) next.user_id = key_.user_id;
  if (!next.job_id) next.job_id = key_.job_id;
  if (!next.worker_id) next.worker_id = core_->options().worker_id;
  if (!next.attempt) next.attempt = state_.attempt;
  if (!next.stall_after_ms) next.stall_after_ms = state_.stall_after_ms;
  const bool new_attempt = sent_any_ && next.attempt > state_.attempt;
  if (sent_any_ && !new_attempt) {
    if (next.attempt < state_.attempt) {
      refuse(reject_reason::out_of_range, "attempt", "attempt must not go back");
    }
    if (is_terminal(state_.status)) {
      refuse(reject_reason::invalid_value, "status",
             "job " + key_.job_id + " is already " + std::string(to_string(state_.status)) +
                 "; nothing may follow a terminal state within one attempt");
    }
  }
  if (next.seq) {
    if (sent_any_ && !new_attempt && *next.seq < next_seq_) {
      refuse(reject_reason::out_of_range, "seq",
             "seq must exceed the last seq sent (" + std::to_string(next_seq_ - 1) + ")");
    }
  } else {
    next.seq = next_seq_;
  }
  if (!next.timestamp) next.timestamp = core_->clock().unix_ms();

  if (auto problem = validate(next, &key_)) throw validation_error(std::move(*problem));
  std::string payload;
  try {
    payload = nlohmann::json(next).dump();
  } catch (const nlohmann::json::exception&) {
    refuse(reject_reason::invalid_utf8, "details", "details contains text that is not valid UTF-8");
  }
  // The bridge's own parser is the final judge (size, nesting depth, ...).
  if (auto parsed = parse_update(key_, payload); !parsed) throw validation_error(std::move(*parsed.error));

  const bool urgent = is_urgent(state_, next, !sent_any_);
  next_seq_ = *next.seq + 1;
  state_ = std::move(next);
  sent_any_ = true;
  // Requests matter while the job runs; a new attempt runs it again.
  follow_control(follow_control_ && !is_terminal(state_.status));
  return core_->submit(slot_, std::move(payload), urgent);
}

}  // namespace progress
