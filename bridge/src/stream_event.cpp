#include "stream_event.hpp"

#include <charconv>

#include "progress/protocol/job_status.hpp"

namespace progress::bridge {

std::string stream_cursor(std::uint64_t epoch, std::uint64_t revision) {
  std::string cursor = std::to_string(epoch);
  cursor += '.';
  cursor += std::to_string(revision);
  return cursor;
}

std::optional<std::uint64_t> parse_stream_cursor(std::string_view cursor, std::uint64_t epoch) {
  const auto dot = cursor.find('.');
  if (dot == std::string_view::npos || cursor.size() > 41) return std::nullopt;
  const auto number = [](std::string_view text) -> std::optional<std::uint64_t> {
    std::uint64_t value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
    return value;
  };
  const auto their_epoch = number(cursor.substr(0, dot));
  const auto revision = number(cursor.substr(dot + 1));
  if (!their_epoch || !revision || *their_epoch != epoch) return std::nullopt;
  return revision;
}

std::string sse_frame(std::string_view type, std::string_view cursor, std::string_view json) {
  std::string frame;
  frame.reserve(type.size() + cursor.size() + json.size() + 24);
  frame += "event: ";
  frame += type;
  frame += '\n';
  if (!cursor.empty()) {
    frame += "id: ";
    frame += cursor;
    frame += '\n';
  }
  frame += "data: ";
  frame += json;
  frame += "\n\n";
  return frame;
}

std::shared_ptr<const stream_event> make_stream_event(const job_change& change, std::uint64_t epoch,
                                                      bool with_sse) {
  auto event = std::make_shared<stream_event>();
  event->revision = change.revision;
  event->key = change.key;
  event->job = change.job;
  const std::string cursor = stream_cursor(epoch, change.revision);
  std::string& text = event->websocket_text;
  if (change.job) {
    event->keep = is_terminal(change.job->state.status);
    text.reserve(change.job->json->size() + cursor.size() + 40);
    text += R"({"type":"job","job":)";
    text += *change.job->json;
  } else {
    // Ids follow [A-Za-z0-9_.-]: nothing to escape.
    event->keep = true;
    text += R"({"type":"job_removed","userId":")";
    text += change.key.user_id;
    text += R"(","jobId":")";
    text += change.key.job_id;
    text += '"';
  }
  text += R"(,"cursor":")";
  text += cursor;
  text += "\"}";
  if (with_sse) event->sse_text = sse_frame(change.job ? "job" : "job_removed", cursor, text);
  return event;
}

}  // namespace progress::bridge
