#include "stream_hub.hpp"

#include <algorithm>

namespace progress::bridge {

stream_hub::stream_hub(net::io_context& ioc, const job_store& store, stream_hub_options options)
    : store_(store),
      options_(options),
      strand_(net::make_strand(ioc)),
      expiry_(std::make_shared<expiry_sweep>(ioc.get_executor())),
      keepalive_(std::make_shared<keepalive_sweep>(ioc.get_executor())) {}

void stream_hub::publish(const apply_result& result) {
  const auto post_change = [this](const job_change& change) {
    auto event = make_stream_event(change, store_.epoch(), open_sse_.load(std::memory_order_relaxed) > 0);
    // Inline on the hub strand (the ingest's); a hand-off from anywhere else.
    net::dispatch(strand_, [self = shared_from_this(), event = std::move(event)] { self->fan_out(event); });
  };
  for (const auto& evicted : result.evicted) post_change(evicted);
  if (is_change(result.outcome)) post_change(job_change{result.revision, result.key, result.job});
}

void stream_hub::attach(subscriber_ptr stream, std::optional<std::string> user_id,
                        std::optional<std::uint64_t> resume_after) {
  net::post(strand_, [self = shared_from_this(), stream = std::move(stream), user_id = std::move(user_id),
                      resume_after] {
    if (self->stopped_) return stream->on_shutdown();
    self->add(stream, user_id);
    stream->on_start(self->start_for(user_id, resume_after));
  });
}

void stream_hub::rescope(subscriber_ptr stream, std::optional<std::string> user_id) {
  net::post(strand_, [self = shared_from_this(), stream = std::move(stream), user_id = std::move(user_id)] {
    if (self->stopped_ || !self->registered_.contains(stream.get())) return;
    self->remove(stream);
    self->add(stream, user_id);
    stream->on_start(self->snapshot(user_id));
  });
}

void stream_hub::detach(subscriber_ptr stream) {
  net::post(strand_, [self = shared_from_this(), stream = std::move(stream)] { self->remove(stream); });
}

void stream_hub::shutdown() {
  // Every stream closes with 1001 now.
  expiry_->stop();
  keepalive_->stop();
  net::post(strand_, [self = shared_from_this()] {
    self->stopped_ = true;
    for (const auto& [user, streams] : self->by_user_) {
      for (const auto& stream : streams) stream->on_shutdown();
    }
    for (const auto& stream : self->everyone_) stream->on_shutdown();
    // Sessions detach as they close; nothing is delivered meanwhile.
  });
}

void stream_hub::fan_out(const std::shared_ptr<const stream_event>& event) {
  if (stopped_) return;
  if (const auto it = by_user_.find(event->key.user_id); it != by_user_.end()) {
    for (const auto& stream : it->second) stream->on_event(event);
  }
  for (const auto& stream : everyone_) stream->on_event(event);
}

void stream_hub::add(const subscriber_ptr& stream, const std::optional<std::string>& user_id) {
  if (user_id) {
    auto& [user, streams] = *by_user_.try_emplace(*user_id).first;
    streams.push_back(stream);
    registered_[stream.get()] = &user;
  } else {
    everyone_.push_back(stream);
    registered_[stream.get()] = nullptr;
  }
}

void stream_hub::remove(const subscriber_ptr& stream) {
  const auto where = registered_.find(stream.get());
  if (where == registered_.end()) return;
  const auto erase_from = [&](std::vector<subscriber_ptr>& streams) {
    const auto it = std::find(streams.begin(), streams.end(), stream);
    if (it == streams.end()) return;
    *it = std::move(streams.back());  // order among streams does not matter
    streams.pop_back();
  };
  if (where->second) {
    const auto user = by_user_.find(*where->second);
    if (user != by_user_.end()) {
      erase_from(user->second);
      if (user->second.empty()) by_user_.erase(user);
    }
  } else {
    erase_from(everyone_);
  }
  registered_.erase(where);
}

std::shared_ptr<const stream_start> stream_hub::snapshot(const std::optional<std::string>& user_id) const {
  auto start = std::make_shared<stream_start>();
  auto taken = store_.snapshot(user_id);
  start->revision = taken.revision;
  start->jobs = std::move(taken.jobs);
  if (start->jobs.size() > options_.snapshot_limit) {
    start->jobs.resize(options_.snapshot_limit);
    start->truncated = true;
  }
  return start;
}

std::shared_ptr<const stream_start> stream_hub::start_for(const std::optional<std::string>& user_id,
                                                          std::optional<std::uint64_t> resume_after) const {
  if (resume_after) {
    auto feed = store_.changes_since(*resume_after, user_id);
    if (feed.covered && feed.changes.size() <= options_.resume_limit) {
      auto start = std::make_shared<stream_start>();
      start->resumed = true;
      start->revision = feed.head_revision;
      start->changes.reserve(feed.changes.size());
      std::size_t bytes = 0;
      for (const auto& change : feed.changes) {
        auto& event = start->changes.emplace_back(make_stream_event(change, epoch()));
        bytes += event->bytes();
      }
      if (bytes <= options_.resume_bytes) return start;
    }
  }
  return snapshot(user_id);
}

}  // namespace progress::bridge
