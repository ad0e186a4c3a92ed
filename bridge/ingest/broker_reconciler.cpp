#include "broker_reconciler.hpp"

#include <algorithm>
#include <random>
#include <utility>

#include <spdlog/spdlog.h>

#include "progress/protocol/topic.hpp"
#include "progress/protocol/validation.hpp"
#include "state_marker.hpp"
#include "unix_time.hpp"

namespace progress::bridge {
namespace {

// Without a journal the store is new with every process.
std::string random_store_id() {
  std::random_device device;
  return std::to_string((static_cast<std::uint64_t>(device()) << 32U) | device());
}

// What removal_record::last keeps of a removed state: what ordering needs.
job_state ordering_fields(const job_facts& facts) {
  job_state slim;
  slim.status = facts.status;
  slim.attempt = facts.attempt;
  slim.seq = facts.seq;
  slim.timestamp = facts.timestamp;
  return slim;
}

// The state as its worker published it, from the text the store serves: the
// store keeps no parsed copy (job_facts). Null if it no longer reads back.
std::optional<job_state> published_state(const stored_job& job) {
  auto parsed = parse_update(job.key, job.plain_json());
  if (!parsed) return std::nullopt;
  return std::move(*parsed.state);
}

std::string_view kind(bool removal) {
  return removal ? "removal" : "state";
}

}  // namespace

broker_reconciler::broker_reconciler(strand_type strand, job_store& store, metrics& metrics,
                                     std::string client_id, ledger_state state, broker_ledger* ledger,
                                     reconciler_options options)
    : options_{options},
      store_{store},
      metrics_{metrics},
      marker_topic_{state_marker_topic(client_id)},
      store_id_{state.store_id.empty() ? random_store_id() : state.store_id},
      ledger_{ledger},
      marker_timer_{std::move(strand)},
      removals_{options.removals, std::move(state.removals), ledger, unix_ms_now()},
      covered_{store.revision()},
      acknowledged_{state.acknowledged} {}

broker_view broker_reconciler::view() const {
  // Without the marker subscription nothing is known: the ingest's plain sweep.
  if (!markers_readable_) return broker_view{};
  return broker_view{broker_marker_, acknowledged_.has_value()};
}

void broker_reconciler::connected(publisher publish) {
  disconnected();
  publish_ = std::move(publish);
}

void broker_reconciler::marker_subscribed(bool granted) {
  markers_readable_ = granted;
  if (!granted) {
    spdlog::warn(
        "MQTT broker refused the subscription to {}: a broker crash may lose acknowledged job states; "
        "check the broker's ACL for the bridge",
        marker_topic_);
  }
}

void broker_reconciler::disconnected() {
  ++session_;
  publish_ = nullptr;
  broker_marker_.reset();
  markers_readable_ = false;
  replay_done_ = false;
  markers_blocked_ = false;
  older_in_replay_.clear();
  waiting_.clear();
  in_flight_ = 0;
  marker_timer_.cancel();
  marker_armed_ = false;
  last_sent_ = 0;
}

void broker_reconciler::on_marker(std::string_view payload, bool retained) {
  if (!retained) return;  // our own marker coming back live
  auto marker = parse_state_marker(payload);
  if (!marker) return;
  if (marker->store_id != store_id_) {
    spdlog::info("state marker on {} is of another store ({}): ignored", marker_topic_, marker->store_id);
    return;
  }
  broker_marker_ = marker->marker;
}

bool broker_reconciler::replay_returns_removed(const job_key& key, const job_state& replayed) {
  // The removals remembered are few: asked first, they spare most messages a store lookup.
  const auto* removal = removals_.find(key, unix_ms_now());
  if (removal == nullptr || store_.contains(key)) return false;
  if (!republish_removal(removal->revision, removal->last, replayed, view())) {
    removals_.forget(key);  // published again after its removal: the job is back
    return false;
  }
  queue_republish(key, true);
  return true;
}

void broker_reconciler::applied(const job_key& key, const apply_result& result, bool retained) {
  if (retained &&
      (result.outcome == apply_outcome::stale || result.outcome == apply_outcome::after_terminal)) {
    older_in_replay_.insert(key);
  }
  if (result.outcome == apply_outcome::accepted || result.outcome == apply_outcome::new_attempt) {
    removals_.forget(key);
  }
  if (is_change(result.outcome) || !result.evicted.empty()) changed_ = true;
}

void broker_reconciler::removed(const stored_job& removed, std::uint64_t revision) {
  const auto now = unix_ms_now();
  removals_.remember(removal_record{removed.key, revision, now, ordering_fields(removed.facts)}, now);
  changed_ = true;
}

void broker_reconciler::batch_applied() {
  if (changed_) schedule_marker();
}

bool broker_reconciler::absent_job_removed(const stored_job& job) {
  if (absent_job(job.revision, view()) == absent_job_verdict::removed) return true;
  queue_republish(job.key, false);
  return false;
}

void broker_reconciler::replay_complete() {
  const auto seen = view();
  for (const auto& key : older_in_replay_) {
    const auto job = store_.find(key);
    if (job && republish_newer(job->revision, seen)) queue_republish(key, false);
  }
  older_in_replay_.clear();
  if (!waiting_.empty()) {
    spdlog::warn(
        "the MQTT broker lost {} job states or removals it had acknowledged (its state marker: {}; last "
        "acknowledged: {}); publishing them again",
        waiting_.size(), seen.marker ? std::to_string(*seen.marker) : "none",
        acknowledged_ ? std::to_string(acknowledged_->marker) : "none");
  }
  replay_done_ = true;
  changed_ = true;  // the broker's marker should name what the bridge holds now
  pump();
}

void broker_reconciler::replay_incomplete() {
  replay_done_ = false;
  older_in_replay_.clear();
}

void broker_reconciler::queue_republish(job_key key, bool removal) {
  waiting_.push_back(republish{std::move(key), removal});
  pump();
}

void broker_reconciler::pump() {
  if (!publish_ || pumping_) return;
  pumping_ = true;
  while (in_flight_ < options_.republish_window && !waiting_.empty() && publish_) {
    auto item = std::move(waiting_.front());
    waiting_.pop_front();
    std::string payload;
    if (!item.removal) {
      const auto job = store_.find(item.key);
      if (!job) continue;  // gone meanwhile
      const auto state = published_state(*job);
      if (!state) continue;  // cannot happen: the store only holds states that parsed
      append_json(payload, *state);
      if (payload.size() > max_payload_bytes) {
        log_.log("republish", spdlog::level::err,
                 "cannot publish {}/{} again: {} bytes is over the protocol's limit", item.key.user_id,
                 item.key.job_id, payload.size());
        continue;
      }
    }
    ++in_flight_;
    const auto topic = job_topic(item.key);
    publish_(topic, payload,
             [weak = weak_from_this(), session = session_, item](std::optional<std::uint8_t> code) {
               const auto self = weak.lock();
               if (self && self->session_ == session) self->on_republished(item, code);
             });
  }
  pumping_ = false;
  if (waiting_.empty() && in_flight_ == 0) schedule_marker();
}

void broker_reconciler::on_republished(const republish& item, std::optional<std::uint8_t> code) {
  --in_flight_;
  if (code && *code < 0x80) {
    metrics_.republished(kind(item.removal), "acknowledged");
  } else {
    // The broker does not have it: no marker may claim it does.
    markers_blocked_ = true;
    metrics_.republished(kind(item.removal), "refused");
    log_.log("republish", spdlog::level::err,
             "MQTT broker did not take the {} of {}/{} published again (reason {}): check the broker's ACL "
             "for the "
             "bridge; no state markers until the next connection",
             kind(item.removal), item.key.user_id, item.key.job_id, code ? static_cast<int>(*code) : -1);
  }
  pump();
}

void broker_reconciler::schedule_marker() {
  if (!publish_ || !replay_done_ || markers_blocked_ || !markers_readable_ || marker_armed_ || !changed_ ||
      !waiting_.empty() || in_flight_ > 0) {
    return;
  }
  marker_armed_ = true;
  const auto due = last_sent_at_ + options_.marker_interval;
  marker_timer_.expires_at(std::max(due, std::chrono::steady_clock::now()));
  marker_timer_.async_wait([weak = weak_from_this(), session = session_](boost::system::error_code ec) {
    const auto self = weak.lock();
    if (ec || !self || self->session_ != session) return;
    self->send_marker();
  });
}

void broker_reconciler::send_marker() {
  changed_ = false;
  const auto revision = store_.revision();
  if (revision == last_sent_ || (last_sent_ == 0 && broker_marker_ == revision)) {
    marker_armed_ = false;
    return;
  }
  const auto sent_at = unix_ms_now();
  last_sent_ = revision;
  last_sent_at_ = std::chrono::steady_clock::now();
  publish_(
      marker_topic_, to_payload(state_marker{revision, sent_at, store_id_}),
      [weak = weak_from_this(), session = session_, revision, sent_at](std::optional<std::uint8_t> code) {
        const auto self = weak.lock();
        if (self && self->session_ == session) self->on_marker_acknowledged(revision, sent_at, code);
      });
}

void broker_reconciler::on_marker_acknowledged(std::uint64_t marker, std::int64_t sent_at,
                                               std::optional<std::uint8_t> code) {
  marker_armed_ = false;
  if (!code) return;  // the session ends
  if (*code >= 0x80) {
    markers_blocked_ = true;
    metrics_.state_marker("refused");
    log_.log(
        "republish", spdlog::level::err,
        "MQTT broker refused the state marker on {} (reason {}): a broker crash may lose acknowledged job "
        "states; check the broker's ACL for the bridge",
        marker_topic_, static_cast<int>(*code));
    return;
  }
  metrics_.state_marker("acknowledged");
  acknowledged_ = marker_record{marker, sent_at};
  broker_marker_ = marker;
  covered_.store(std::max(covered_.load(), marker));
  if (ledger_) ledger_->marker_acknowledged(*acknowledged_);
  schedule_marker();
}

std::uint64_t broker_reconciler::unmarked_changes() const {
  const auto revision = store_.revision();
  const auto covered = covered_.load();
  return revision > covered ? revision - covered : 0;
}

}  // namespace progress::bridge
