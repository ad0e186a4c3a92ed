#include "cancel_relay.hpp"

#include <spdlog/spdlog.h>

#include "mqtt_reason.hpp"
#include "progress/protocol/topic.hpp"

namespace progress::bridge {

cancel_relay::cancel_relay(job_store& store, publisher publish)
    : store_(store), publish_(std::move(publish)) {}

apply_result cancel_relay::request(const job_key& key, const control_message& message) {
  auto result = store_.annotate(key, [&](job_annotations& notes) {
    if (!notes.cancel_requested) {
      notes.cancel_requested = cancel_mark{message.request_id, message.requested_by, message.timestamp};
    }
  });
  if (result.outcome != apply_outcome::accepted) return result;
  unacknowledged_[key] = pending_publish{nlohmann::json(message).dump()};
  send(key);
  spdlog::info("cancel of {}/{} requested by {} ({})", key.user_id, key.job_id, message.requested_by,
               message.request_id);
  return result;
}

void cancel_relay::observe(const apply_result& change) {
  const auto ended = [this](const job_key& key) {
    if (requested_.erase(key) > 0) clear(key);
  };
  for (const auto& evicted : change.evicted) ended(evicted.key);
  if (!is_change(change.outcome)) return;
  if (change.job && !is_terminal(change.job->facts.status)) return follow(*change.job);
  ended(change.key);
}

void cancel_relay::follow(const stored_job& job) {
  if (job.notes.cancel_requested && !is_terminal(job.facts.status)) requested_.insert(job.key);
}

std::vector<apply_result> cancel_relay::on_control(const job_key& key, std::string_view payload,
                                                   bool loaded) {
  std::vector<apply_result> changes;
  if (payload.empty()) return changes;  // a cleared topic
  std::optional<control_message> retained;
  if (auto parsed = parse_control(payload)) retained = std::move(*parsed.message);
  if (loaded) {
    settle_control(key, retained, changes);
  } else if (waiting_.size() < max_waiting_controls || waiting_.contains(key)) {
    waiting_[key] = std::move(retained);
  }
  return changes;
}

std::vector<apply_result> cancel_relay::settle() {
  std::vector<apply_result> changes;
  for (const auto& key : std::exchange(refused_, {})) {
    auto result = store_.annotate(key, [](job_annotations& notes) { notes.cancel_requested.reset(); });
    if (is_change(result.outcome)) changes.push_back(std::move(result));
  }
  for (const auto& [key, retained] : std::exchange(waiting_, {})) settle_control(key, retained, changes);
  for (const auto& [key, pending] : unacknowledged_) {
    if (!pending.in_flight) send(key);
  }
  return changes;
}

void cancel_relay::settle_control(const job_key& key, const std::optional<control_message>& retained,
                                  std::vector<apply_result>& changes) {
  const auto job = store_.find(key);
  // Not held: another bridge's request, or one for a job still to come. Not ours to clear.
  if (!job) return;
  if (is_terminal(job->facts.status)) return clear(key);
  // A request of ours on its way replaces whatever the broker holds.
  if (!retained || !retained->is_cancel()) return;
  if (const auto pending = unacknowledged_.find(key);
      pending != unacknowledged_.end() && !pending->second.payload.empty()) {
    return;
  }
  const cancel_mark mark{retained->request_id, retained->requested_by, retained->timestamp};
  auto result = store_.annotate(key, [&](job_annotations& notes) { notes.cancel_requested = mark; });
  if (is_change(result.outcome)) changes.push_back(std::move(result));
}

void cancel_relay::send(const job_key& key) {
  auto& pending = unacknowledged_.at(key);
  pending.in_flight = true;  // before publishing: a connection that cannot take it says so at once
  const bool sent = publish_(control_topic(key), pending.payload,
                             [this, key, payload = pending.payload](std::optional<std::uint8_t> code) {
                               on_acknowledged(key, payload, code);
                             });
  if (!sent) unacknowledged_.at(key).in_flight = false;
}

void cancel_relay::clear(const job_key& key) {
  // Retried like a request; it replaces a request of the job still on its way.
  unacknowledged_.insert_or_assign(key, pending_publish{});
  send(key);
}

void cancel_relay::on_acknowledged(const job_key& key, const std::string& payload,
                                   std::optional<std::uint8_t> code) {
  const auto it = unacknowledged_.find(key);
  if (it == unacknowledged_.end() || it->second.payload != payload) return;  // replaced meanwhile
  if (!code) {
    it->second.in_flight = false;  // not taken, or the connection ended: sent again at the next settle
    return;
  }
  unacknowledged_.erase(it);
  if (*code < 0x80) return;
  spdlog::error(
      "the broker refused to {} the cancel request of {}/{} ({}): check the ACL of the bridge's account",
      payload.empty() ? "clear" : "publish", key.user_id, key.job_id, mqtt::reason_name(*code));
  if (!payload.empty()) refused_.push_back(key);
}

}  // namespace progress::bridge
