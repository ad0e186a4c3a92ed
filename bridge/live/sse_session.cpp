#include "sse_session.hpp"

#include "stream_event.hpp"
#include "wire_format.hpp"

namespace progress::bridge {

sse_session::sse_session(connection_stream&& stream, std::shared_ptr<stream_hub> hub, metrics& metrics,
                         principal who, stream_scope scope, std::optional<std::uint64_t> resume_after,
                         std::string resume_cursor, std::shared_ptr<const stream_options> options)
    : stream_session(stream.get_executor(), hub, metrics, stream_framing::sse, std::move(who),
                     std::move(scope), resume_after, std::move(resume_cursor), std::move(options)),
      stream_(std::move(stream)),
      heartbeat_timer_(stream_.get_executor()),
      hub_(std::move(hub)) {
  buffers_.reserve(batch_limit());
  hub_->sse_opened();
}

sse_session::~sse_session() {
  hub_->sse_closed();
}

std::string_view sse_session::event_text(const stream_event& event) const {
  if (!event.sse_text.empty()) return event.sse_text;
  // Kept until the batch that holds it is written (write() clears them).
  return late_frames_.emplace_back(wire::frame(stream_framing::sse, wire::change_type(event.job.get()),
                                               cursor(event.revision), event.websocket_text));
}

void sse_session::run(std::string response_head) {
  stream_.expires_never();  // the stall timer of stream_session bounds writes
  beast::error_code ec;
  stream_.socket().set_option(tcp::no_delay(true), ec);
  send_final(std::move(response_head));
  begin();
  arm_heartbeat();
  do_read();
}

void sse_session::do_read() {
  stream_.async_read_some(net::buffer(discard_), beast::bind_front_handler(&sse_session::on_read, self()));
}

void sse_session::on_read(beast::error_code ec, std::size_t /*bytes*/) {
  if (ec) {
    heartbeat_timer_.cancel();
    closed_ = true;
    beast::error_code ignored;
    stream_.socket().close(ignored);
    return finish();
  }
  do_read();
}

void sse_session::arm_heartbeat() {
  heartbeat_timer_.expires_after(options().heartbeat);
  heartbeat_timer_.async_wait([self = self()](beast::error_code ec) {
    if (ec || self->closing()) return;
    // Only an idle stream needs it: any event keeps proxies from timing out too.
    if (self->idle()) self->send_framed(wire::sse_heartbeat());
    self->arm_heartbeat();
  });
}

void sse_session::write(std::span<const outgoing_message> batch) {
  buffers_.clear();
  late_frames_.clear();
  late_frames_.reserve(batch.size());  // no reallocation: buffers_ point into them
  for (const auto& message : batch) {
    const auto text = text_of(message);
    buffers_.emplace_back(text.data(), text.size());
  }
  net::async_write(stream_, buffers_, beast::bind_front_handler(&sse_session::on_write, self()));
}

void sse_session::on_write(beast::error_code ec, std::size_t /*bytes*/) {
  on_written(ec);
}

void sse_session::close_transport(stream_end reason) {
  if (closed_) return;
  heartbeat_timer_.cancel();
  if (reason == stream_end::token_expired && !end_when_drained_) {
    // Tell the client why before the response ends, so it fetches a new token.
    end_when_drained_ = true;
    send_final(
        wire::frame(stream_framing::sse, "error", {}, wire::error_message("token_expired", "token expired")));
    return;
  }
  closed_ = true;
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
}

void sse_session::on_drained() {
  if (end_when_drained_) {
    end_when_drained_ = false;
    close_transport(stream_end::client);
  }
}

}  // namespace progress::bridge
