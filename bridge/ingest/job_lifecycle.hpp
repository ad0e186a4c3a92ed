#pragma once
// What happens to jobs besides their workers' updates: stalled jobs
// (stall_watch) and cancellation (cancel_relay), on the ingest's MQTT
// connection and the strand that writes the store (the hub's).
//
// Every change of the store passes through listener(): the ingest's, the
// store upkeep's and this class's own. It keeps the stall index and the
// cancel requests current, then hands the change on to `downstream` (the
// stream hub). Through the ingest it reads workers/+/status and the control
// topics, and publishes cancel requests. A timer checks for silent jobs and
// settles the control topics every `check_interval`.
//
// Lifetime: owned by a std::shared_ptr; attach() to the ingest before it
// starts, start(), and stop() before dropping it.
#include <chrono>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "asio.hpp"
#include "cancel_relay.hpp"
#include "job_store.hpp"
#include "mqtt_ingest.hpp"
#include "stall_watch.hpp"

namespace progress::bridge {

struct lifecycle_options {
  stall_options stalls;
  // How often silent jobs are looked for (and lost publishes retried).
  std::chrono::milliseconds check_interval = std::chrono::seconds{1};
};

class job_lifecycle : public std::enable_shared_from_this<job_lifecycle> {
 public:
  using change_listener = std::function<void(const apply_result&)>;
  using strand_type = net::strand<net::io_context::executor_type>;

  // `store` must outlive the lifecycle.
  job_lifecycle(strand_type strand, job_store& store, lifecycle_options options, change_listener downstream);

  job_lifecycle(const job_lifecycle&) = delete;
  job_lifecycle& operator=(const job_lifecycle&) = delete;

  // The listener for every other writer of the store, called on the strand.
  [[nodiscard]] change_listener listener();
  // Reads worker statuses and control topics through `ingest` and publishes
  // through it. Before ingest.start().
  void attach(mqtt_ingest& ingest);
  // Takes in the jobs the store already holds (one walk), then checks every `check_interval`.
  void start();
  void stop();

  // Any thread. True while the ingest is connected to the broker.
  [[nodiscard]] bool connected() const;
  // Any thread: asks the job's worker to cancel it (cancel_relay::request).
  void request_cancel(job_key key, control_message message);

 private:
  // A topic of the ingest's connection: messages whose topic `parse` reads
  // go to `handle(*this, parsed, payload)`, whose changes are passed on.
  template <typename Parse, typename Handle>
  mqtt_ingest::side_topic side_topic(std::string_view filter, Parse parse, Handle handle);

  // Strand.
  void pass_on(const apply_result& change);
  void pass_on(const std::vector<apply_result>& changes);
  void arm();
  void check();
  bool publish(const std::string& topic, const std::string& payload,
               std::function<void(std::optional<std::uint8_t>)> done);

  job_store& store_;
  const lifecycle_options options_;
  const change_listener downstream_;
  net::steady_timer timer_;
  std::weak_ptr<mqtt_ingest> ingest_;

  // Strand only.
  stall_watch stalls_;
  cancel_relay cancels_;
  bool stopped_ = false;
};

}  // namespace progress::bridge
