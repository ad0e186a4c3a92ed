#include "job_lifecycle.hpp"

#include <spdlog/spdlog.h>

#include "progress/protocol/topic.hpp"
#include "unix_time.hpp"

namespace progress::bridge {

job_lifecycle::job_lifecycle(strand_type strand, job_store& store, lifecycle_options options,
                             change_listener downstream)
    : store_(store),
      options_(options),
      downstream_(std::move(downstream)),
      timer_(std::move(strand)),
      stalls_(store, options.stalls),
      cancels_(store, [this](const std::string& topic, const std::string& payload,
                             std::function<void(std::optional<std::uint8_t>)> done) {
        return publish(topic, payload, std::move(done));
      }) {}

job_lifecycle::change_listener job_lifecycle::listener() {
  return [weak = weak_from_this()](const apply_result& change) {
    if (const auto self = weak.lock()) self->pass_on(change);
  };
}

void job_lifecycle::attach(mqtt_ingest& ingest) {
  ingest_ = ingest.weak_from_this();
  ingest.add_side_topic(
      side_topic(worker_status_filter, parse_worker_status_topic,
                 [](job_lifecycle& self, const std::string& worker_id, std::string_view payload) {
                   return self.stalls_.on_worker_status(worker_id, payload, unix_ms_now());
                 }));
  ingest.add_side_topic(side_topic(control_topic_filter, parse_control_topic,
                                   [](job_lifecycle& self, const job_key& key, std::string_view payload) {
                                     const auto connection = self.ingest_.lock();
                                     return self.cancels_.on_control(key, payload,
                                                                     connection && connection->ready());
                                   }));
}

template <typename Parse, typename Handle>
mqtt_ingest::side_topic job_lifecycle::side_topic(std::string_view filter, Parse parse, Handle handle) {
  return {std::string(filter),
          [weak = weak_from_this(), parse, handle](std::string_view topic, std::string_view payload) {
            const auto parsed = parse(topic);
            if (!parsed) return false;
            if (const auto self = weak.lock(); self && !self->stopped_)
              self->pass_on(handle(*self, *parsed, payload));
            return true;
          }};
}

void job_lifecycle::start() {
  net::dispatch(timer_.get_executor(), [self = shared_from_this()] {
    // A store filled before the lifecycle listened (restored from disk, say) is followed too.
    for (const auto& job : self->store_.snapshot().jobs) {
      self->stalls_.follow(job);
      self->cancels_.follow(*job);
    }
    self->arm();
  });
}

void job_lifecycle::stop() {
  net::dispatch(timer_.get_executor(), [self = shared_from_this()] {
    self->stopped_ = true;
    self->timer_.cancel();
  });
}

bool job_lifecycle::connected() const {
  const auto ingest = ingest_.lock();
  return ingest && ingest->connected();
}

void job_lifecycle::request_cancel(job_key key, control_message message) {
  net::dispatch(timer_.get_executor(),
                [self = shared_from_this(), key = std::move(key), message = std::move(message)] {
                  if (self->stopped_) return;
                  self->pass_on(self->cancels_.request(key, message));
                });
}

void job_lifecycle::pass_on(const apply_result& change) {
  stalls_.observe(change);
  cancels_.observe(change);
  if (!downstream_ || (!is_change(change.outcome) && change.evicted.empty())) return;
  try {
    downstream_(change);
  } catch (const std::exception& error) {
    spdlog::error("job change listener failed: {}", error.what());
  }
}

void job_lifecycle::pass_on(const std::vector<apply_result>& changes) {
  for (const auto& change : changes) pass_on(change);
}

void job_lifecycle::arm() {
  timer_.expires_after(options_.check_interval);
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->stopped_) return;
    self->check();
    self->arm();
  });
}

void job_lifecycle::check() {
  pass_on(stalls_.check(unix_ms_now()));
  const auto ingest = ingest_.lock();
  if (ingest && ingest->ready()) pass_on(cancels_.settle());
}

bool job_lifecycle::publish(const std::string& topic, const std::string& payload,
                            std::function<void(std::optional<std::uint8_t>)> done) {
  const auto ingest = ingest_.lock();
  if (!ingest || stopped_) return false;
  return ingest->publish(topic, payload, true,
                         [weak = weak_from_this(), done = std::move(done)](std::optional<std::uint8_t> code) {
                           if (const auto self = weak.lock(); self && done) done(code);
                         });
}

}  // namespace progress::bridge
