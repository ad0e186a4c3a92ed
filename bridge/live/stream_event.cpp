#include "stream_event.hpp"

#include "progress/protocol/job_status.hpp"
#include "store_cursor.hpp"
#include "wire_format.hpp"

namespace progress::bridge {

std::shared_ptr<const stream_event> make_stream_event(const job_change& change, std::uint64_t epoch,
                                                      bool with_sse) {
  auto event = std::make_shared<stream_event>();
  event->revision = change.revision;
  event->key = change.key;
  event->job = change.job;
  event->keep = !change.job || is_terminal(change.job->facts.status);
  const auto cursor = store_cursor{epoch, change.revision}.to_string();
  event->websocket_text =
      change.job ? wire::job_message(*change.job, cursor) : wire::job_removed_message(change.key, cursor);
  if (with_sse) {
    event->sse_text =
        wire::frame(stream_framing::sse, wire::change_type(change.job.get()), cursor, event->websocket_text);
  }
  return event;
}

}  // namespace progress::bridge
