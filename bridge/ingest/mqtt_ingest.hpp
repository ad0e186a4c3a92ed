#pragma once
// Feeds the job store from MQTT: subscribes to every job topic (QoS 1, MQTT
// v5), validates each message with the protocol library and applies it.
//
// Threads: Paho calls back on its own threads; those callbacks only hand the
// message (a shared pointer, no copy) to a strand on the io_context and never
// block or throw. Parsing, the store and the change listener run on the strand.
// The hand-off is an inbox under a mutex held for a push or a swap: Paho's
// messages and its other events (connected, SUBACK, ...) keep their order, and
// the strand is woken once per batch rather than once per message.
//
// Hand-off bound: at most `max_pending_messages` messages / `max_pending_bytes`
// payload bytes may wait on the strand. Paho acknowledges a QoS 1 message as
// soon as it arrives, so the broker's window (Receive Maximum, sent in CONNECT)
// limits what is in flight on the network, not what waits here. A message that
// arrives while the hand-off is full is dropped and counted as rejected
// "overloaded"; once the strand has caught up the ingest subscribes again,
// which makes the broker resend every retained job state, so the store still
// converges on the latest state of every job (only intermediate history is lost).
// Such resubscriptions are spaced out (1 s doubling up to 1 min) while
// overloads continue: a hand-off smaller than the retained set costs a replay
// a minute, not a busy loop.
//
// Readiness: after each SUBACK the ingest publishes a marker to
// bridge/sync/<client id>, a topic it also subscribes. The broker delivers the
// retained job states queued by the subscription before that marker, so when
// the marker comes back the retained state is loaded. If it never comes back
// (e.g. the broker refuses it), `sync_timeout` marks the state loaded anyway.
// Mosquitto queues the retained states of a new subscription like any other
// message: it drops what exceeds max_inflight_messages + max_queued_messages,
// so the broker must allow at least as many as there are jobs.
//
// Removals missed while away: with a clean start the broker replays every
// retained job state on each subscription, but a job removed meanwhile (an
// empty retained payload) is simply absent from the replay. So the ingest
// notes every job topic it hears between the SUBACK and the sync marker, and
// when the marker comes back removes the jobs it holds that were not among
// them. It does so only when that replay is known to be complete: the job
// subscription was granted, nothing was dropped for overload, the marker came
// back (no timeout), and at most `max_sweep_topics` topics were noted.
//
// Lifetime: owned by a std::shared_ptr (pending work holds it); call stop()
// before dropping it.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <mqtt/async_client.h>

#include "asio.hpp"
#include "job_store.hpp"
#include "metrics.hpp"
#include "rate_limited_log.hpp"

namespace progress::bridge {

struct ingest_options {
  std::string url = "tcp://127.0.0.1:1883";
  std::string username = "bridge";
  std::string password;
  // Also names the sync topic, so it must follow the id rule (is_valid_id).
  std::string client_id = "progress-bridge";
  // A broker that stops answering (hung, not gone) is given up within 2.5
  // keepalives plus Paho's one-second tick: connected() and ready() turn false.
  std::chrono::seconds keepalive{5};
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds min_reconnect_delay{1};
  std::chrono::seconds max_reconnect_delay{30};
  // Receive Maximum sent in CONNECT: QoS 1 messages the broker may have
  // unacknowledged towards the bridge.
  std::uint16_t receive_maximum = 1000;
  // About a second of work at the rates one bridge sustains: a longer queue
  // only adds latency, and the resubscription after an overload repairs
  // every job's latest state sooner.
  std::size_t max_pending_messages = 20000;
  std::size_t max_pending_bytes = std::size_t{32} * 1024 * 1024;
  std::chrono::milliseconds sync_timeout{std::chrono::seconds{10}};
  // Job topics noted per replay for the removal sweep; a larger replay skips the sweep.
  std::size_t max_sweep_topics = 1'000'000;
};

class mqtt_ingest : public std::enable_shared_from_this<mqtt_ingest> {
 public:
  // Called on the ingest's strand for every change it made to the store:
  // accepted updates, removals (empty payloads, and jobs gone from the broker)
  // and the evictions an update caused (apply_result::evicted, also when the
  // update itself was over_capacity).
  using change_listener = std::function<void(const apply_result&)>;

  using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;

  // Throws std::invalid_argument when options.client_id breaks the id rule.
  mqtt_ingest(boost::asio::io_context& ioc, ingest_options options, job_store& store, metrics& metrics,
              change_listener listener = {});
  // Runs on `strand`, shared with the listener's own work (the stream hub's),
  // so a change reaches the hub without another hand-off.
  mqtt_ingest(strand_type strand, ingest_options options, job_store& store, metrics& metrics,
              change_listener listener = {});
  ~mqtt_ingest();

  mqtt_ingest(const mqtt_ingest&) = delete;
  mqtt_ingest& operator=(const mqtt_ingest&) = delete;

  // Starts connecting (retrying until stop()). Once only.
  void start();
  // Disconnects cleanly, waiting up to a few seconds for the broker. Once it
  // returns no new listener call starts. Idempotent.
  void stop();

  [[nodiscard]] bool connected() const noexcept { return connected_.load(); }
  // Connected and the retained job states of this connection are loaded.
  [[nodiscard]] bool ready() const noexcept { return connected_.load() && loaded_.load(); }

 private:
  class action_listener;

  // Paho threads.
  void on_message_arrived(mqtt::const_message_ptr message) noexcept;
  template <typename Handler>
  void post_from_paho(Handler&& handler) noexcept;
  struct inbox_item {
    mqtt::const_message_ptr message;  // a message, or
    std::size_t bytes = 0;
    std::function<void()> event;  // another Paho event, run on the strand
  };
  void enqueue(inbox_item item) noexcept;
  void drain_inbox();

  // Strand.
  void connect();
  void schedule_connect();
  void on_connected();
  void on_connection_lost(std::string_view cause);
  void subscribe();
  void on_subscribed(const std::vector<mqtt::ReasonCode>& codes);
  void on_subscribe_failed(int code);
  void begin_sync();
  void on_sync(std::string_view payload);
  void sweep_unseen();
  void handle(const mqtt::message& message);
  void record(const apply_result& result);
  void notify(const apply_result& result);
  void drain_overload();

  const ingest_options options_;
  const std::string sync_topic_;
  job_store& store_;
  metrics& metrics_;
  const change_listener listener_;
  strand_type strand_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer sync_timer_;
  boost::asio::steady_timer resync_timer_;

  std::atomic<bool> started_{false};
  std::atomic<bool> accepting_{false};  // Paho callbacks hand messages over
  std::atomic<bool> stopped_{false};
  std::atomic<bool> connected_{false};
  std::atomic<bool> loaded_{false};
  std::atomic<std::size_t> pending_messages_{0};
  std::atomic<std::size_t> pending_bytes_{0};
  std::atomic<std::size_t> dropped_{0};  // overloaded messages not yet counted in metrics

  std::mutex inbox_mutex_;
  std::vector<inbox_item> inbox_;  // guarded by inbox_mutex_

  // Strand-only state.
  std::vector<inbox_item> draining_;
  std::chrono::seconds reconnect_delay_;
  bool ever_connected_ = false;
  std::chrono::milliseconds resync_delay_;
  bool resync_needed_ = false;
  bool resync_scheduled_ = false;
  std::uint64_t sync_generation_ = 0;
  bool sweep_possible_ = false;  // this replay may still prove which jobs are gone
  std::set<job_key> seen_;       // job topics heard since the last SUBACK

  std::unique_ptr<action_listener> connect_listener_;
  std::unique_ptr<action_listener> subscribe_listener_;
  // Last member: destroyed first, so no Paho thread outlives what its callbacks use.
  mqtt::async_client client_;
};

}  // namespace progress::bridge
