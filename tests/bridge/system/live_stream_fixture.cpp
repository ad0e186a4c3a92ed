#include "live_stream_fixture.hpp"

namespace progress::bridge {

std::string text_field(const json& object, std::string_view key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get_ref<const std::string&>() : std::string{};
}

std::string percent_encoded(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0x0F];
    }
  }
  return out;
}

std::string websocket_target(const std::string& token, const std::string& cursor) {
  std::string target = "/api/v1/ws?access_token=" + percent_encoded(token);
  if (!cursor.empty()) target += "&cursor=" + percent_encoded(cursor);
  return target;
}

header_list bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

websocket_options token_in_header(const std::string& token) {
  websocket_options options;
  options.headers = bearer(token);
  return options;
}

websocket_options small_receive_buffer() {
  websocket_options options;
  options.receive_buffer_bytes = 4096;
  return options;
}

std::unique_ptr<websocket_test_client> open_websocket(unsigned short port, const std::string& token,
                                                      const std::string& cursor, websocket_options options) {
  return std::make_unique<websocket_test_client>(port, websocket_target(token, cursor), std::move(options));
}

std::unique_ptr<sse_test_client> open_sse(unsigned short port, const std::string& user,
                                          const std::string& token, header_list headers) {
  headers.emplace_back("Authorization", "Bearer " + token);
  return std::make_unique<sse_test_client>(port, "/api/v1/users/" + user + "/stream", headers);
}

std::string shortened(const json& message) {
  const auto text = message.dump();
  return text.size() > 400 ? text.substr(0, 400) + "..." : text;
}

std::optional<json> next_of_type(websocket_test_client& ws, std::string_view type,
                                 std::chrono::milliseconds timeout) {
  auto message = ws.next_message(timeout);
  if (!message) {
    ADD_FAILURE() << "no '" << type << "' message within " << timeout.count() << " ms ("
                  << (ws.ended() ? ws.end_reason() : "still open") << ")";
    return std::nullopt;
  }
  if (!message->is_object() || text_field(*message, "type") != type) {
    ADD_FAILURE() << "expected a '" << type << "' message, got " << shortened(*message);
    return std::nullopt;
  }
  return message;
}

std::optional<json> next_event_of_type(sse_test_client& sse, std::string_view type,
                                       std::chrono::milliseconds timeout) {
  auto event = sse.next_event(timeout);
  if (!event) {
    ADD_FAILURE() << "no '" << type << "' event within " << timeout.count() << " ms; body so far:\n"
                  << sse.body().substr(0, 2000);
    return std::nullopt;
  }
  auto data = event->data_json();
  if (event->event != type || !data.is_object() || text_field(data, "type") != type) {
    ADD_FAILURE() << "expected a '" << type << "' event, got event '" << event->event << "' data "
                  << event->data.substr(0, 400);
    return std::nullopt;
  }
  // `id:` is the message's cursor (for snapshot, resume, job and job_removed).
  if (data.contains("cursor")) {
    EXPECT_EQ(event->id, data["cursor"].get<std::string>()) << event->data;
  }
  return data;
}

std::optional<std::vector<json>> messages_before_pong(websocket_test_client& ws, const std::string& id,
                                                      std::chrono::milliseconds timeout) {
  if (!ws.send_text(json{{"op", "ping"}, {"id", id}}.dump())) {
    ADD_FAILURE() << "ping could not be sent: " << ws.end_reason();
    return std::nullopt;
  }
  std::vector<json> before;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto message = ws.next_message(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
    if (!message) break;
    if (text_field(*message, "type") == "pong" && message->value("id", json{}) == id) return before;
    before.push_back(std::move(*message));
  }
  ADD_FAILURE() << "no pong '" << id << "' within " << timeout.count() << " ms after " << before.size()
                << " messages (" << (ws.ended() ? ws.end_reason() : "still open") << ")";
  return std::nullopt;
}

std::optional<std::vector<json>> messages_until(websocket_test_client& ws,
                                                const std::function<bool(const json&)>& last,
                                                std::chrono::milliseconds timeout) {
  std::vector<json> read;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto message = ws.next_message(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
    if (!message) break;
    read.push_back(std::move(*message));
    if (last(read.back())) return read;
  }
  std::string got;
  for (const auto& message : read) got += "\n  " + shortened(message).substr(0, 160);
  ADD_FAILURE() << "the awaited message did not come within " << timeout.count() << " ms ("
                << (ws.ended() ? ws.end_reason() : "still open") << "); got " << read.size()
                << " others:" << got;
  return std::nullopt;
}

void expect_nothing_more(websocket_test_client& ws) {
  auto before = messages_before_pong(ws, "nothing-more");
  ASSERT_TRUE(before);
  EXPECT_TRUE(before->empty()) << shortened(before->front());
}

std::set<std::string> job_ids(const json& jobs) {
  std::set<std::string> ids;
  for (const auto& job : jobs) ids.insert(text_field(job, "jobId"));
  return ids;
}

const json* find_job(const json& jobs, const std::string& user, const std::string& job_id) {
  for (const auto& job : jobs)
    if (text_field(job, "userId") == user && text_field(job, "jobId") == job_id) return &job;
  return nullptr;
}

json big_update(int seq, std::string status) {
  return {{"status", std::move(status)}, {"seq", seq}, {"details", {{"blob", big_blob}}}};
}

double stream_closes(const bridge_process& bridge, const std::string& reason) {
  return metric_with_label(bridge.scrape(), "progress_bridge_streams_closed_total",
                           "reason=\"" + reason + "\"");
}

}  // namespace progress::bridge
