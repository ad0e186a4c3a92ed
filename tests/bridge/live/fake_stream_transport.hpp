#pragma once
// A stream_session over a fake transport, for unit tests of what every live
// stream does (snapshot, delivery, flow control, timers) without a socket:
// writes are recorded and complete only when the test says so, a close is
// recorded and ends the session as a real transport's read side would.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "stream_session.hpp"

namespace progress::bridge::fixtures {

class fake_stream_session final : public stream_session {
 public:
  fake_stream_session(connection_executor executor, std::shared_ptr<stream_hub> hub, metrics& metrics,
                      stream_framing framing, principal who, stream_scope scope,
                      std::optional<std::uint64_t> resume_after, std::string resume_cursor,
                      const stream_options& options, std::size_t batch_limit = 1)
      : stream_session(std::move(executor), std::move(hub), metrics, framing, std::move(who),
                       std::move(scope), resume_after, std::move(resume_cursor),
                       std::make_shared<const stream_options>(options)),
        batch_limit_(batch_limit) {}

  using stream_session::idle;
  using stream_session::send_own;
  using stream_session::writing;

  // What the transport would do once open.
  void open() { begin(); }
  // Opened by a client that said which job versions it holds (state resume).
  void open_holding(std::vector<held_job> held) {
    begin(std::make_shared<const std::vector<held_job>>(std::move(held)));
  }
  void subscribe(stream_scope scope) { change_scope(std::move(scope)); }

  // Completes the write in flight, as the socket would.
  void complete_write(boost::system::error_code ec = {}) {
    ASSERT_TRUE(writing()) << "no write in flight";
    on_written(ec);
  }

  // Every batch written, each message as its wire text.
  std::vector<std::vector<std::string>> batches;
  std::optional<stream_end> closed_for;
  // Writes complete inside write(), as a socket that takes a batch at once.
  bool complete_at_once = false;

 private:
  [[nodiscard]] std::string_view event_text(const stream_event& event) const override {
    return framing() == stream_framing::websocket ? std::string_view{event.websocket_text}
                                                  : std::string_view{event.sse_text};
  }
  [[nodiscard]] std::size_t batch_limit() const noexcept override { return batch_limit_; }
  void write(std::span<const outgoing_message> batch) override {
    auto& texts = batches.emplace_back();
    for (const auto& message : batch) texts.emplace_back(text_of(message));
    if (complete_at_once) on_written({});
  }
  void close_transport(stream_end reason) override {
    if (closed_for) return;
    closed_for = reason;
    finish();
  }

  const std::size_t batch_limit_;
};

}  // namespace progress::bridge::fixtures
