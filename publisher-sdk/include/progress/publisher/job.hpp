#pragma once
// A handle on one job. Every call publishes the job's FULL current state
// (protocol v1): retained, QoS 1, with seq, attempt, workerId and timestamp.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "progress/protocol/job_state.hpp"
#include "progress/protocol/topic.hpp"
#include "progress/publisher/cancel_request.hpp"
#include "progress/publisher/delivery.hpp"

namespace progress {

namespace detail {
class publisher_core;
class job_control;
struct job_slot;
}  // namespace detail

struct job_options {
  std::optional<std::string> type;  // e.g. "token_launch"; [A-Za-z0-9_.-]{1,64}
  // A job run again after a failure starts a new attempt; consumers then
  // reset its history.
  std::int64_t attempt = 1;
  // seq of the first message; a resumed job continues above its last seq.
  std::int64_t first_seq = 1;
  // How long the job may send nothing before the bridge marks it stalled
  // (stallAfterMs, 1 s to 7 days); the bridge's --stall-after when not given.
  // Give a little more than the longest pause between two updates.
  std::optional<std::chrono::milliseconds> stall_after{};
  // Follow the job's control topic (cancellation requests) while the job is
  // not finished. Off for a handle that only sends, like the CLI's.
  bool follow_control = true;
  // Called once per cancellation request; see job::on_cancel().
  cancel_handler on_cancel{};
};

// Calls are not synchronised: use one handle from one thread at a time.
// Every call validates before sending and throws validation_error (nothing
// sent) when the update is not valid protocol v1 or follows a terminal state.
class job {
 public:
  job(job&& other) noexcept = default;
  job& operator=(job&& other) noexcept;
  job(const job&) = delete;
  job& operator=(const job&) = delete;
  // Sends an update still waiting for its throttle interval.
  ~job();

  [[nodiscard]] const job_key& key() const noexcept { return key_; }
  // The state last accepted by this handle (what the broker will retain).
  [[nodiscard]] const job_state& state() const noexcept { return state_; }

  delivery start(std::optional<std::string> message = std::nullopt);
  // Enters phase `index` of `total` (1-based); sent at once.
  delivery phase(std::int64_t index, std::int64_t total, std::string title,
                 std::optional<std::string> description = std::nullopt);
  // Overall percent 0..100; message and detail stay as they were when not given.
  delivery progress(double percent, std::optional<std::string> message = std::nullopt,
                    std::optional<std::string> detail = std::nullopt);
  // Counted work; also sets progress to current/total when total > 0.
  delivery counter(std::int64_t current, std::int64_t total,
                   std::optional<std::string> message = std::nullopt);
  // Estimated time left; nullopt clears it.
  delivery eta(std::optional<std::chrono::milliseconds> remaining);
  delivery complete(nlohmann::json details = nlohmann::json::object());
  delivery fail(job_error error);
  delivery fail(std::string message, std::optional<std::string> code = std::nullopt);
  delivery cancel(std::optional<std::string> message = std::nullopt);
  // Clears the retained state (an empty retained payload); the handle is
  // finished afterwards.
  delivery remove();

  // Publishes `next` as the job's whole state. userId and jobId must match the
  // handle or be absent; seq, attempt, workerId, timestamp and stallAfterMs are
  // filled in when absent, and a given seq must exceed the last one sent.
  delivery update(job_state next);

  // Cancellation (docs/protocol.md, "Control topic"). While the job is not
  // finished (no terminal state sent, not removed) the handle follows
  // users/<userId>/jobs/<jobId>/control, so a user's request to cancel reaches
  // it, also one made before this handle existed (it is retained). The SDK
  // does not stop the job: the worker decides, and calls cancel().
  //
  // `handler` is called once per request id, on the MQTT client's thread: it
  // must not block nor use this handle (set a flag, wake the job's thread).
  // Requests that came before the handler was set are handed to it at once,
  // on the calling thread.
  void on_cancel(cancel_handler handler);
  // True once a cancellation request arrived; safe from any thread.
  [[nodiscard]] bool cancel_requested() const noexcept;
  // The newest request that arrived, if any.
  [[nodiscard]] std::optional<cancel_request> last_cancel_request() const;

 private:
  friend class publisher;
  job(std::shared_ptr<detail::publisher_core> core, job_key key, const job_options& options);

  delivery send(job_state next);
  void follow_control(bool follow);
  [[nodiscard]] job_state draft() const;
  [[nodiscard]] job_state in_progress() const;

  std::shared_ptr<detail::publisher_core> core_;
  std::shared_ptr<detail::job_slot> slot_;
  std::shared_ptr<detail::job_control> control_;
  bool follow_control_ = true;
  bool following_ = false;
  job_key key_;
  job_state state_;
  std::int64_t next_seq_ = 1;
  bool sent_any_ = false;
  bool removed_ = false;
};

}  // namespace progress
