#pragma once
// Publishes the progress of jobs to the broker on behalf of one worker.
//
//   progress::publisher pub({.url = "tcp://127.0.0.1:1883", .username = "worker",
//                            .password = "...", .worker_id = "importer-1"});
//   auto job = pub.job("alice", "import-42");
//   job.phase(1, 3, "Download");
//   job.progress(40, "12 of 30 files");
//   job.complete({{"rows", 1200}}).wait();  // throws publish_error if refused

#include <memory>
#include <string>

#include "progress/publisher/job.hpp"
#include "progress/publisher/message_transport.hpp"
#include "progress/publisher/publisher_clock.hpp"
#include "progress/publisher/publisher_options.hpp"

namespace progress {

class publisher {
 public:
  // Connects over MQTT v5 (paho_transport); throws publish_error when the
  // broker cannot be reached or refuses the credentials, validation_error on
  // a bad worker id.
  explicit publisher(publisher_options options);
  // Uses `transport` instead of the network; connect() is called here.
  publisher(publisher_options options, std::shared_ptr<message_transport> transport,
            std::shared_ptr<publisher_clock> clock = publisher_clock::system());
  publisher(const publisher&) = delete;
  publisher& operator=(const publisher&) = delete;
  // close()
  ~publisher();

  // A handle on job `job_id` of user `user_id`; throws validation_error on bad ids.
  [[nodiscard]] progress::job job(const std::string& user_id, const std::string& job_id,
                                  const job_options& options = {});

  // Sends every update still waiting for its throttle interval.
  void flush();
  // Sends the waiting updates whose interval has passed. The timer thread
  // does this on its own; tests driving a manual clock call it to be exact.
  void flush_due();
  // Flushes, stops the timer thread and disconnects cleanly. Later updates
  // fail with publish_errc::closed. Idempotent; must not be called from on_error.
  void close();

  [[nodiscard]] const publisher_options& options() const noexcept;

 private:
  std::shared_ptr<detail::publisher_core> core_;
};

}  // namespace progress
