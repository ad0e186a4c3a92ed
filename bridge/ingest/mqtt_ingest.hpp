#pragma once
// Feeds the job store from MQTT: subscribes to every job topic (QoS 1, MQTT
// v5), validates each message with the protocol library and applies it.
//
// Threads: everything runs on one strand, the stream hub's, shared with the
// change listener: the connection (mqtt_connection) reads on it, and a batch
// of messages goes from the socket through validation and the store to the
// listener without a lock or a hand-off between threads.
//
// Flow control: the connection reads again only when a batch has been
// applied, and acknowledges a batch only then. A bridge that falls behind
// therefore stops taking messages; the broker holds them (at most Receive
// Maximum unacknowledged, the rest in its per-client queue, see broker-config)
// until the bridge catches up. Nothing is dropped here, so an overload never
// needs a replay to repair the state.
//
// Readiness: after each SUBACK the ingest publishes a marker to
// bridge/sync/<client id>, a topic it also subscribes. The broker delivers the
// retained job states queued by the subscription before that marker, so when
// the marker comes back the retained state is loaded. If it never comes back
// (e.g. the broker refuses it), the state is marked loaded anyway once no
// message has arrived for `sync_timeout`: a replay of a million retained
// states takes longer than that, and is not over while it still flows.
// Mosquitto queues the retained states of a new subscription like any other
// message: it drops what exceeds max_inflight_messages + max_queued_messages,
// so the broker must allow at least as many as there are jobs.
//
// Removals missed while away: with a clean start the broker replays every
// retained job state on each subscription, but a job removed meanwhile (an
// empty retained payload) is simply absent from the replay. So the ingest
// notes every held job whose topic it hears between the SUBACK and the sync
// marker (heard_jobs), and when the marker comes back removes the jobs it holds
// that were not among them. It does so only when that replay is known to be
// complete: the job subscription was granted, the marker came back (no
// timeout), and at most `max_sweep_topics` jobs were noted.
//
// Broker crashes: broker_reconciler publishes the bridge's state markers and
// applies the rule of docs/protocol.md ("State markers") to every replay: a
// job absent from it is removed only when the broker's marker proves it was
// removed; otherwise the bridge publishes its state again.
//
// Liveness: a broker that stops answering is noticed after 1.5 × keepalive
// (mqtt_connection); the ingest then reports not ready and reconnects.
//
// Side topics: others may read more topics on the same connection
// (add_side_topic: worker statuses, control topics for job_lifecycle),
// subscribed after the job topics on every connect, so their retained
// messages arrive after the retained job states; and publish through it.
//
// Lifetime: owned by a std::shared_ptr; call stop() before dropping it.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "asio.hpp"
#include "broker_ledger.hpp"
#include "broker_reconciler.hpp"
#include "heard_jobs.hpp"
#include "job_store.hpp"
#include "metrics.hpp"
#include "mqtt_connection.hpp"
#include "rate_limited_log.hpp"

namespace progress::bridge {

struct ingest_options {
  std::string url = "tcp://127.0.0.1:1883";
  std::string username = "bridge";
  std::string password;
  // Also names the sync topic, so it must follow the id rule (is_valid_id).
  std::string client_id = "progress-bridge";
  // A broker that sends nothing for 1.5 × this (hung, not gone) is taken for
  // gone: connected() and ready() turn false and the ingest reconnects.
  std::chrono::seconds keepalive{5};
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds min_reconnect_delay{1};
  std::chrono::seconds max_reconnect_delay{30};
  // Receive Maximum sent in CONNECT: QoS 1 messages the broker may have
  // unacknowledged towards the bridge (its window; the rest wait in its queue).
  std::uint16_t receive_maximum = 65535;
  // Largest packet the bridge takes (announced in CONNECT, so the broker drops
  // larger messages for it); job states are at most 64 KiB (protocol).
  std::uint32_t max_packet_size = 128 * 1024;
  std::chrono::milliseconds sync_timeout{std::chrono::seconds{10}};
  // Held jobs noted per replay for the removal sweep; a larger replay skips the sweep.
  std::size_t max_sweep_topics = 1'000'000;
  // Keeps the state markers and remembered removals across restarts (the
  // journal); null: they last as long as the process. `saved_ledger`: what it held at start.
  broker_ledger* ledger = nullptr;
  ledger_state saved_ledger;
  reconciler_options reconciler;
};

class mqtt_ingest : public std::enable_shared_from_this<mqtt_ingest> {
 public:
  // Called on the ingest's strand for every change it made to the store:
  // accepted updates, removals (empty payloads, and jobs gone from the broker)
  // and the evictions an update caused (apply_result::evicted, also when the
  // update itself was over_capacity).
  using change_listener = std::function<void(const apply_result&)>;

  using strand_type = net::strand<net::io_context::executor_type>;

  // A filter read besides the job topics. `on_message` is called on the
  // strand for every message no job topic and no earlier side topic took, and
  // answers whether the topic was one of its own.
  struct side_topic {
    std::string filter;
    std::function<bool(std::string_view topic, std::string_view payload)> on_message;
  };

  // Throws std::invalid_argument when the URL or options.client_id is not valid.
  mqtt_ingest(net::io_context& ioc, ingest_options options, job_store& store, metrics& metrics,
              change_listener listener = {});
  // Runs on `strand`, shared with the listener's own work (the stream hub's),
  // so a change reaches the hub without another hand-off.
  mqtt_ingest(strand_type strand, ingest_options options, job_store& store, metrics& metrics,
              change_listener listener = {});

  mqtt_ingest(const mqtt_ingest&) = delete;
  mqtt_ingest& operator=(const mqtt_ingest&) = delete;

  // Before start().
  void add_side_topic(side_topic topic);
  // On the strand: publishes QoS 1; false when not connected (nothing sent).
  // `done` gets the PUBACK reason code, or nothing when the connection ended first.
  bool publish(std::string_view topic, std::string_view payload, bool retain,
               mqtt_connection::publish_handler done = {});

  // Starts connecting, and reconnecting until stop(). Once only.
  void start();
  // Disconnects cleanly. Once it returns no new listener call starts, so
  // whatever the listener uses may go. Call it from outside the strand while
  // the io_context runs, or from the strand. Idempotent.
  void stop();

  [[nodiscard]] bool connected() const noexcept { return connected_.load(); }
  // Connected and the retained job states of this connection are loaded.
  [[nodiscard]] bool ready() const noexcept { return connected_.load() && loaded_.load(); }
  // Store changes not yet covered by a state marker the broker acknowledged. Any thread.
  [[nodiscard]] std::uint64_t unmarked_changes() const { return reconciler_->unmarked_changes(); }

 private:
  // Strand.
  void connect();
  void schedule_connect();
  void on_connected(const std::shared_ptr<mqtt_connection>& connection);
  void on_closed(const mqtt_connection_end& end);
  void on_subscribed(const std::optional<std::vector<std::uint8_t>>& codes);
  void begin_sync();
  void await_sync(std::chrono::steady_clock::duration wait);
  void on_sync(std::string_view payload);
  void sweep_unseen();
  // Notes a held job heard during the replay (nothing: the store does not hold it).
  void note_heard(std::shared_ptr<const stored_job> job);
  // The same for a job heard but not applied: as the store holds it, if it does.
  void note_heard(const job_key& key);
  void on_messages(std::span<const mqtt::publish> messages);
  void handle(const mqtt::publish& message);
  void record(const apply_result& result);
  void notify(const apply_result& result);
  void halt();

  const ingest_options options_;
  const mqtt_endpoint endpoint_;
  const std::string sync_topic_;
  job_store& store_;
  metrics& metrics_;
  const change_listener listener_;
  strand_type strand_;
  const std::shared_ptr<broker_reconciler> reconciler_;
  net::ssl::context tls_;
  net::steady_timer connect_timer_;
  net::steady_timer sync_timer_;

  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<bool> connected_{false};
  std::atomic<bool> loaded_{false};

  // Strand only.
  std::shared_ptr<mqtt_connection> connection_;
  std::chrono::seconds reconnect_delay_;
  bool ever_connected_ = false;
  std::uint64_t sync_generation_ = 0;
  // When the last message arrived while the retained state was loading.
  std::chrono::steady_clock::time_point last_message_at_;
  bool sweep_possible_ = false;          // this replay may still prove which jobs are gone
  heard_jobs heard_;                     // held jobs whose topic was heard since the last SUBACK
  std::vector<side_topic> side_topics_;  // fixed once started
};

}  // namespace progress::bridge
