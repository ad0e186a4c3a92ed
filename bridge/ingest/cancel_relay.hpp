#pragma once
// Carries users' requests to cancel a job to its worker (docs/protocol.md
// "Control topic"): marks the job `cancelRequested` and publishes the request,
// retained, QoS 1, on users/<userId>/jobs/<jobId>/control; once the job ends
// or is gone, clears that topic with an empty retained payload.
//
// The bridge reads the control topics too, so that what the broker retains
// and what the store shows agree after a restart or a lost publish: once the
// retained states are loaded, a retained request of a job that runs marks it,
// and one of a job that ended is cleared. One of a job the store does not
// hold is left alone: another bridge (a replica with other limits) may have
// made it, or the job is still to come. A request or clear that the
// connection could not take, or lost before the broker acknowledged it, is
// published again at the next settle(); a request the broker refuses is taken
// back.
//
// Bounds: one request per held job (a second request of a job answers with
// the first); the requests read before the retained states are loaded wait in
// a set of at most `max_waiting_controls` (more are read again after the next
// connect).
//
// Not thread-safe: everything runs on the strand that writes the store (the
// hub's). Changes are returned to the owner (job_lifecycle), which passes
// them on like every other change, observe() included.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "job_store.hpp"
#include "progress/protocol/control_message.hpp"

namespace progress::bridge {

class cancel_relay {
 public:
  // Publishes `payload` retained, QoS 1, on `topic`; false when not connected
  // (nothing sent). `done` gets the PUBACK reason code, or nothing when the
  // connection ended first.
  using publisher =
      std::function<bool(const std::string& topic, const std::string& payload,
                         std::function<void(std::optional<std::uint8_t>)> done)>;

  static constexpr std::size_t max_waiting_controls = 100000;

  // `store` must outlive the relay.
  cancel_relay(job_store& store, publisher publish);

  // Asks the worker of `key` to cancel the job: marks it and publishes the
  // request. Nothing changes when the job is unknown, ended, or asked already.
  [[nodiscard]] apply_result request(const job_key& key, const control_message& message);
  // Every change of the store: a job that ended or is gone has its request cleared.
  void observe(const apply_result& change);
  // A job the store holds, as it is now (for jobs the store held before the relay saw them).
  void follow(const stored_job& job);
  // A message on the control topic of `key`. `loaded`: the retained job states are in the store.
  [[nodiscard]] std::vector<apply_result> on_control(const job_key& key, std::string_view payload, bool loaded);
  // Once connected and loaded: settles the controls read before, publishes again what was lost.
  [[nodiscard]] std::vector<apply_result> settle();

 private:
  struct pending_publish {
    std::string payload;  // empty: clearing the topic
    bool in_flight = false;
  };

  void settle_control(const job_key& key, const std::optional<control_message>& retained,
                      std::vector<apply_result>& changes);
  void send(const job_key& key);
  void clear(const job_key& key);
  void on_acknowledged(const job_key& key, const std::string& payload, std::optional<std::uint8_t> code);

  job_store& store_;
  const publisher publish_;
  // Jobs marked cancelRequested: their topic is cleared when they end.
  std::set<job_key> requested_;
  // Requests and clears not yet acknowledged by the broker, at most one per job.
  std::map<job_key, pending_publish> unacknowledged_;
  // Control messages read before the retained states were loaded (nothing: malformed).
  std::map<job_key, std::optional<control_message>> waiting_;
  // Requests the broker refused, taken back on the next settle().
  std::vector<job_key> refused_;
};

}  // namespace progress::bridge
