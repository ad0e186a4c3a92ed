#include "progress/publisher/publisher.hpp"

#include "progress/protocol/validation.hpp"
#include "progress/publisher/paho_transport.hpp"
#include "progress/publisher/validation_error.hpp"
#include "publisher_core.hpp"

namespace progress {
namespace {

[[noreturn]] void refuse(std::string field, std::string message) {
  throw validation_error(rejection{reject_reason::invalid_value, std::move(field), std::move(message)});
}

void check_id(const std::string& id, const char* name) {
  if (!is_valid_id(id)) refuse(name, std::string(name) + " must match [A-Za-z0-9_.-]{1,128}");
}

void check_options(const publisher_options& options) {
  check_id(options.worker_id, "workerId");
  if (options.throttle_interval.count() < 0)
    refuse("throttle_interval", "throttle_interval must not be negative");
  if (options.max_buffered == 0) refuse("max_buffered", "max_buffered must be at least 1");
  if (options.connect_timeout.count() <= 0) refuse("connect_timeout", "connect_timeout must be positive");
}

}  // namespace

publisher::publisher(publisher_options options)
    : publisher(std::move(options), nullptr, publisher_clock::system()) {}

publisher::publisher(publisher_options options, std::shared_ptr<message_transport> transport,
                     std::shared_ptr<publisher_clock> clock) {
  check_options(options);
  if (!transport) transport = std::make_shared<paho_transport>(options);
  if (!clock) clock = publisher_clock::system();
  core_ =
      std::make_shared<detail::publisher_core>(std::move(options), std::move(transport), std::move(clock));
  core_->start();
}

publisher::~publisher() {
  close();
}

progress::job publisher::job(const std::string& user_id, const std::string& job_id,
                             const job_options& options) {
  check_id(user_id, "userId");
  check_id(job_id, "jobId");
  job_state initial;
  initial.type = options.type;
  initial.attempt = options.attempt;
  initial.seq = options.first_seq;
  if (options.stall_after) initial.stall_after_ms = options.stall_after->count();
  if (auto problem = validate(initial)) throw validation_error(std::move(*problem));
  return progress::job(core_, job_key{user_id, job_id}, options);
}

void publisher::flush() {
  core_->flush_all();
}

void publisher::flush_due() {
  core_->flush_due();
}

void publisher::close() {
  core_->close();
}

const publisher_options& publisher::options() const noexcept {
  return core_->options();
}

}  // namespace progress
