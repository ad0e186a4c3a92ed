#pragma once
// Fans the job store's changes out to the live streams (WebSocket and SSE).
//
// Threads: the registry of streams lives on the hub's own strand, so neither
// the ingest nor any session takes a lock to deliver. The ingest runs on the
// same strand (mqtt_ingest's strand constructor), so publish() serializes each
// change once (stream_event) and fans it out at once, posting it to the strand
// of every stream that follows the job's user (or everyone); called from
// elsewhere it hands the change to the hub strand first. Sessions filter the
// finer scope (job ids, types) and queue on their own strand.
//
// Consistency: a stream is registered and its start (snapshot, or the
// changes after its cursor) is read from the store in one hub task. A change
// the store applied before that read is in the start; one applied after it is
// fanned out after the task, so it reaches the stream. A change may arrive
// twice (in the start and as an event); sessions drop events whose revision
// the start already covers, so nothing is lost and nothing goes backwards.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "asio.hpp"
#include "expiry_sweep.hpp"
#include "job_store.hpp"
#include "keepalive_sweep.hpp"
#include "stream_event.hpp"

namespace progress::bridge {

// What a stream receives first.
struct stream_start {
  // true: `changes` are every change after the stream's cursor, oldest first;
  // false: `jobs` is the latest state of every job in scope, newest first.
  bool resumed = false;
  std::vector<std::shared_ptr<const stored_job>> jobs;
  bool truncated = false;  // `jobs` was cut to stream_hub_options::snapshot_limit
  std::vector<std::shared_ptr<const stream_event>> changes;
  std::uint64_t revision = 0;  // the store revision the start is consistent with
};

// The hub's side of a live stream. Called on the hub strand: implementations
// only post to their own strand.
class stream_subscriber {
 public:
  virtual ~stream_subscriber() = default;
  virtual void on_start(std::shared_ptr<const stream_start> start) = 0;
  virtual void on_event(const std::shared_ptr<const stream_event>& event) = 0;
  // The bridge is shutting down: close (WebSocket code 1001).
  virtual void on_shutdown() = 0;
};

struct stream_hub_options {
  // A snapshot holds at most this many jobs (newest first); more is flagged
  // `truncated`. One user has at most store_limits::jobs_per_user jobs, so
  // only an admin following everyone can hit it.
  std::size_t snapshot_limit = 10000;
  // A resume replays at most this many changes; more and the stream gets a
  // snapshot instead (recovered: false), which is smaller and as correct.
  std::size_t resume_limit = 1000;
  // ... and at most this many bytes of them (their text), so a replay fits in
  // a stream's send queue budget (stream_options::queue_bytes).
  std::size_t resume_bytes = 512 * 1024;
};

class stream_hub : public std::enable_shared_from_this<stream_hub> {
 public:
  stream_hub(boost::asio::io_context& ioc, const job_store& store, stream_hub_options options = {});

  stream_hub(const stream_hub&) = delete;
  stream_hub& operator=(const stream_hub&) = delete;

  // Any thread, best on strand() (the ingest's change listener): the changes
  // one store update made.
  void publish(const apply_result& result);

  // Any thread. `user_id`: whose jobs the stream follows (nullopt: everyone's).
  // `resume_after`: the revision of the stream's cursor, when it had a valid one.
  void attach(std::shared_ptr<stream_subscriber> stream, std::optional<std::string> user_id,
              std::optional<std::uint64_t> resume_after);
  // Moves a stream to another user (or everyone) and sends it a fresh snapshot.
  void rescope(std::shared_ptr<stream_subscriber> stream, std::optional<std::string> user_id);
  void detach(std::shared_ptr<stream_subscriber> stream);
  // Tells every stream to close; later attaches are told at once.
  void shutdown();

  using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;
  [[nodiscard]] const strand_type& strand() const noexcept { return strand_; }
  [[nodiscard]] std::uint64_t epoch() const noexcept { return store_.epoch(); }
  // Ends streams whose token expired (one sweep for all of them).
  [[nodiscard]] expiry_sweep& expiry() noexcept { return *expiry_; }
  // Pings idle WebSockets and drops silent ones (one sweep for all of them).
  [[nodiscard]] keepalive_sweep& keepalive() noexcept { return *keepalive_; }

  // Live stream connections, counted by the sessions from open to close
  // (the listener's connection limit counts them too).
  void stream_opened() noexcept { open_streams_.fetch_add(1, std::memory_order_relaxed); }
  void stream_closed() noexcept { open_streams_.fetch_sub(1, std::memory_order_relaxed); }
  [[nodiscard]] std::size_t open_streams() const noexcept {
    return open_streams_.load(std::memory_order_relaxed);
  }
  // SSE streams, counted from construction (before they attach), so every
  // change published while one is attached carries its SSE text.
  void sse_opened() noexcept { open_sse_.fetch_add(1, std::memory_order_relaxed); }
  void sse_closed() noexcept { open_sse_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  using subscriber_ptr = std::shared_ptr<stream_subscriber>;

  // Hub strand.
  void fan_out(const std::shared_ptr<const stream_event>& event);
  void add(const subscriber_ptr& stream, const std::optional<std::string>& user_id);
  void remove(const subscriber_ptr& stream);
  [[nodiscard]] std::shared_ptr<const stream_start> snapshot(const std::optional<std::string>& user_id) const;
  [[nodiscard]] std::shared_ptr<const stream_start> start_for(
      const std::optional<std::string>& user_id, std::optional<std::uint64_t> resume_after) const;

  const job_store& store_;
  const stream_hub_options options_;
  strand_type strand_;
  const std::shared_ptr<expiry_sweep> expiry_;
  const std::shared_ptr<keepalive_sweep> keepalive_;
  std::atomic<std::size_t> open_streams_{0};
  std::atomic<std::size_t> open_sse_{0};

  // Hub strand only.
  bool stopped_ = false;
  std::unordered_map<std::string, std::vector<subscriber_ptr>> by_user_;
  std::vector<subscriber_ptr> everyone_;
  // Where each stream is registered: the key of its user's entry in by_user_
  // (nodes of an unordered_map stay put), or null for everyone.
  std::unordered_map<stream_subscriber*, const std::string*> registered_;
};

}  // namespace progress::bridge
