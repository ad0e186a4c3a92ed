#pragma once
// Keeps a broker crash from losing what the broker acknowledged
// (docs/protocol.md, "State markers"; the rule itself is replay_rule.hpp).
//
// Markers: after each batch of messages that changed the store, at most every
// `marker_interval` (200 ms) and one at a time, the bridge publishes its state
// marker (QoS 1, retained) with the store's revision; once the broker
// acknowledges it, the marker is recorded in the ledger (the journal).
//
// Replay: on every connection the marker topic is subscribed before the job
// topics, so Mosquitto queues the retained marker (M) ahead of every retained
// job state (it queues the retained messages of subscriptions in the order it
// takes them). While the replay runs, a replayed job the bridge removed after
// M is not taken back: its removal is published again. When the replay is
// complete, a held job the replay did not bring is removed if its last change
// came before M, and published again otherwise; so is a held job whose
// replayed state was older than the bridge's and whose last change came after M.
//
// Bounds: at most `republish_window` (16) republished messages await their
// acknowledgement; the rest wait as job keys (at most one per held job and
// remembered removal). No marker is sent before every republished message was
// acknowledged: a marker must never cover a state the broker does not have yet.
// An incomplete replay (sync timeout, too many topics) decides nothing, and no
// marker is sent on that connection.
//
// Runs on the ingest's strand. Lifetime: owned by a std::shared_ptr.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "asio.hpp"
#include "broker_ledger.hpp"
#include "job_store.hpp"
#include "metrics.hpp"
#include "rate_limited_log.hpp"
#include "removal_memory.hpp"
#include "replay_rule.hpp"

namespace progress::bridge {

struct reconciler_options {
  std::chrono::milliseconds marker_interval{200};
  std::size_t republish_window = 16;
  removal_limits removals;
};

class broker_reconciler : public std::enable_shared_from_this<broker_reconciler> {
 public:
  using strand_type = net::strand<net::io_context::executor_type>;
  // Told the PUBACK reason code (0: accepted), or nothing when the message did not reach the broker.
  using publish_done = std::function<void(std::optional<std::uint8_t>)>;
  // Publishes retained at QoS 1 on the current connection.
  using publisher = std::function<void(std::string_view topic, std::string_view payload, publish_done done)>;

  // `ledger` may be null (nothing survives the process); `state` is what it held at start.
  broker_reconciler(strand_type strand, job_store& store, metrics& metrics, std::string client_id,
                    ledger_state state, broker_ledger* ledger, reconciler_options options = {});

  [[nodiscard]] const std::string& marker_topic() const noexcept { return marker_topic_; }

  // A new session, publishing through `publish`: nothing is known of the broker until its replay.
  void connected(publisher publish);
  // The marker subscription was granted, or refused (then the replay decides
  // nothing beyond the removal sweep the ingest always made).
  void marker_subscribed(bool granted);
  // The session ended: no more markers or republishing on it.
  void disconnected();

  // A message on the marker topic; `retained`: part of the replay.
  void on_marker(std::string_view payload, bool retained);
  // A replayed (retained) job state, before it is applied: true when it brings
  // back a job removed after the broker's marker; it must not be applied, and
  // its removal is published again.
  bool replay_returns_removed(const job_key& key, const job_state& replayed);
  // A message was applied to the store (`retained`: part of the replay).
  void applied(const job_key& key, const apply_result& result, bool retained);
  // An empty payload removed `removed` (the state the store held) at `revision`.
  void removed(const stored_job& removed, std::uint64_t revision);
  // After a batch of messages: send a marker if the store changed.
  void batch_applied();

  // The replay is complete. For each held job it did not bring: true when it
  // is to be removed, false when it is republished instead.
  bool absent_job_removed(const stored_job& job);
  // After the absent jobs: republish the older replayed ones, then markers.
  void replay_complete();
  // The replay could not be proven complete: nothing is decided.
  void replay_incomplete();

  // Changes of this run not yet covered by a marker the broker acknowledged. Any thread.
  [[nodiscard]] std::uint64_t unmarked_changes() const;

 private:
  struct republish {
    job_key key;
    bool removal = false;
  };
  [[nodiscard]] broker_view view() const;
  void queue_republish(job_key key, bool removal);
  void pump();
  void on_republished(const republish& item, std::optional<std::uint8_t> code);
  void schedule_marker();
  void send_marker();
  void on_marker_acknowledged(std::uint64_t marker, std::int64_t sent_at, std::optional<std::uint8_t> code);

  const reconciler_options options_;
  job_store& store_;
  metrics& metrics_;
  const std::string marker_topic_;
  const std::string store_id_;
  broker_ledger* const ledger_;
  net::steady_timer marker_timer_;
  rate_limited_log log_;
  removal_memory removals_;
  std::atomic<std::uint64_t> covered_;  // the last marker acknowledged, or the revision at start

  // Strand only.
  publisher publish_;
  std::optional<marker_record> acknowledged_;
  std::optional<std::uint64_t> broker_marker_;  // M of this session's replay
  bool markers_readable_ = false;               // the marker subscription was granted
  bool replay_done_ = false;                    // and reconciled: markers may go
  bool markers_blocked_ = false;                // the broker refused a message of this session
  bool pumping_ = false;
  std::set<job_key> older_in_replay_;
  std::deque<republish> waiting_;
  std::size_t in_flight_ = 0;
  bool marker_armed_ = false;      // timer running or marker awaiting its PUBACK
  bool changed_ = false;           // changes since the last marker was sent
  std::uint64_t last_sent_ = 0;    // revision of the last marker sent on this session
  std::chrono::steady_clock::time_point last_sent_at_{};
  std::uint64_t session_ = 0;      // connections so far; callbacks of an old one are ignored
};

}  // namespace progress::bridge
