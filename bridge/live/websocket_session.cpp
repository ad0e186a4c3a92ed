#include "websocket_session.hpp"

#include <spdlog/spdlog.h>

#include "build_info.hpp"
#include "client_op.hpp"
#include "rate_limited_log.hpp"

namespace progress::bridge {

namespace {

// Frames of a batch whose buffers a session keeps between batches.
constexpr std::size_t kept_frames = 8;

websocket::close_reason close_reason_for(stream_end reason) {
  switch (reason) {
    case stream_end::shutdown: return {websocket::close_code::going_away, "bridge shutting down"};
    case stream_end::token_expired: return {websocket::close_code{4001}, "token expired"};
    case stream_end::slow_consumer: return {websocket::close_code{4008}, "slow consumer"};
    case stream_end::over_budget: return {websocket::close_code{4009}, "over budget"};
    case stream_end::op_flood: return {websocket::close_code{4029}, "too many client ops"};
    case stream_end::client: return {websocket::close_code::normal};
    case stream_end::error: break;
  }
  return {websocket::close_code::internal_error};
}

}  // namespace

websocket_session::websocket_session(connection_stream&& stream, std::shared_ptr<stream_hub> hub,
                                     metrics& metrics, const access_policy& access, principal who,
                                     std::optional<std::uint64_t> resume_after, std::string resume_cursor,
                                     std::shared_ptr<const stream_options> options, bool await_state)
    : stream_session(stream.get_executor(), std::move(hub), metrics, stream_framing::websocket, who,
                     stream_scope{who.user_id, {}, {}}, resume_after, std::move(resume_cursor),
                     std::move(options)),
      ws_(stream.release_socket()),
      access_(access),
      awaiting_state_(await_state) {}

websocket_session::~websocket_session() {
  hub().keepalive().remove(*this);
}

void websocket_session::run(http_request req) {
  // Frames already leave in one write per batch: Nagle's algorithm would only hold the
  // next batch back until the client's delayed ACK (up to 40 ms on Linux).
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).set_option(net::ip::tcp::no_delay(true), ignored);
  websocket::stream_base::timeout timeouts{};
  // Beast's handshake timeout also bounds the close handshake: it is the close grace.
  // No idle timeout: the hub's keepalive_sweep pings and drops idle streams.
  timeouts.handshake_timeout = close_grace;
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws_.set_option(timeouts);
  // Pongs (and pings, closes) from the client are heard too.
  ws_.control_callback([this](websocket::frame_type, beast::string_view) { heard(); });
  ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
    res.set(http::field::server, "progress-bridge/" + std::string(version()));
  }));
  ws_.read_message_max(max_client_message);
  ws_.async_accept(req, beast::bind_front_handler(&websocket_session::on_accept, self()));
}

void websocket_session::on_accept(beast::error_code ec) {
  if (ec) {
    outsider_log().log("websocket", spdlog::level::debug, "websocket accept: {}", ec.message());
    return finish();
  }
  open_ = true;
  heard();
  hub().keepalive().add(*this);
  if (closing()) {
    // Shutdown arrived during the handshake.
    close_transport(stream_end::shutdown);
  } else if (awaiting_state_) {
    return read_held_state();
  } else {
    begin();
  }
  do_read();
}

void websocket_session::read_held_state() {
  ws_.read_message_max(max_resume_read);
  state_read_ = std::make_unique<held_state_read>(held_state_read{{}, net::steady_timer{ws_.get_executor()}});
  state_read_->timer.expires_after(resume_wait);
  state_read_->timer.async_wait([self = self()](beast::error_code ec) {
    if (ec || !self->awaiting_state_ || self->closing()) return;
    self->awaiting_state_ = false;  // too late: a full snapshot, the message is read as any op
    self->begin();
  });
  ws_.async_read(state_read_->message, beast::bind_front_handler(&websocket_session::on_held_state, self()));
}

void websocket_session::on_held_state(beast::error_code ec, std::size_t bytes) {
  if (!ec) heard();
  // The timer's handler holds the session, not the timer: it may go now.
  std::string text = beast::buffers_to_string(state_read_->message.data());
  state_read_.reset();
  ws_.read_message_max(max_client_message);
  if (ec) return on_read_failed(ec);
  if (closing()) return do_read();
  if (!awaiting_state_) {
    handle_op(text);
    return do_read();
  }
  awaiting_state_ = false;
  if (bytes > max_resume_message || !ws_.got_text()) {
    begin();  // not read as a resume: a full snapshot
    if (!ws_.got_text()) refuse("bad_request", "binary messages are not supported; send JSON text");
    return do_read();
  }
  auto op = parse_client_op(text);
  if (auto* resume = std::get_if<resume_op>(&op)) {
    begin(std::make_shared<const std::vector<held_job>>(std::move(resume->jobs)));
  } else {
    begin();  // another op first: a full snapshot, and the op as any other
    handle_op(text);
  }
  do_read();
}

void websocket_session::do_read() {
  // Into op_text_'s spare room: its inline buffer for the start of a message,
  // then twice what it holds. Beast bounds the whole message by read_message_max.
  const std::size_t at = op_text_.size();
  op_text_.resize(std::max(op_text_.capacity(), 2 * at));
  ws_.async_read_some(
      net::buffer(op_text_.data() + at, op_text_.size() - at),
      [self = self(), at](beast::error_code ec, std::size_t bytes) { self->on_read(ec, bytes, at); });
}

void websocket_session::on_read_failed(beast::error_code ec) {
  hub().keepalive().remove(*this);
  if (ec != websocket::error::closed && ec != net::error::operation_aborted)
    outsider_log().log("websocket", spdlog::level::debug, "websocket read from {}: {}", who().user_id,
                       ec.message());
  if (ec == websocket::error::message_too_big) stats().stream_op_refused("too_big");
  finish();
}

void websocket_session::on_read(beast::error_code ec, std::size_t bytes, std::size_t at) {
  if (ec) return on_read_failed(ec);
  heard();
  op_text_.resize(at + bytes);
  if (ws_.is_message_done()) {
    if (!closing()) {
      if (!ws_.got_text()) {
        refuse("bad_request", "binary messages are not supported; send JSON text");
      } else {
        handle_op(op_text_);
      }
    }
    std::string{}.swap(op_text_);  // back to the inline buffer
  }
  do_read();
}

bool websocket_session::take_op_token() {
  const auto now = std::chrono::steady_clock::now();
  const std::chrono::duration<double> elapsed = now - op_refill_;
  op_refill_ = now;
  op_tokens_ = std::min(ops_burst, op_tokens_ + elapsed.count() * ops_per_second);
  if (op_tokens_ < 1) return false;
  op_tokens_ -= 1;
  return true;
}

void websocket_session::refuse(std::string_view code, std::string_view message) {
  stats().stream_op_refused(code);
  send_own(wire::error_message(code, message), "error");
}

void websocket_session::handle_op(std::string_view text) {
  if (!take_op_token()) {
    if (++refused_ops_ > max_refused_ops) return end(stream_end::op_flood);
    return refuse("rate_limited", "too many ops; slow down");
  }
  auto op = parse_client_op(text);
  if (const auto* error = std::get_if<client_op_error>(&op)) return refuse(error->code, error->message);
  if (const auto* ping = std::get_if<ping_op>(&op)) {
    send_own(wire::pong_message(ping->id_json), "pong");
    return;
  }
  if (std::holds_alternative<unsubscribe_op>(op)) return change_scope(stream_scope{who().user_id, {}, {}});
  if (std::holds_alternative<resume_op>(op))
    return refuse("bad_request", "resume is only the first message of a stream opened with ?resume=state");

  auto& subscribe = std::get<subscribe_op>(op);
  stream_scope next{who().user_id, std::move(subscribe.job_ids), std::move(subscribe.types)};
  if (subscribe.user_id) {
    auto granted = access_.authorize_scope(who(), *subscribe.user_id);
    if (const auto* denied = std::get_if<access_denial>(&granted))
      return refuse(denied->code, denied->message);
    next.user_id = std::move(std::get<read_grant>(granted).user_id);
  }
  change_scope(std::move(next));
}

void websocket_session::write(std::span<const outgoing_message> batch) {
  if (!ws_.is_open()) {
    // The close handshake began (Beast sent or answered a close): no data frame may follow it.
    on_written(websocket::error::closed);
    return;
  }
  if (!batch_frames_) batch_frames_ = std::make_unique<frame_lists>();
  auto& [headers, frames] = *batch_frames_;
  headers.clear();
  frames.clear();
  headers.reserve(batch.size());  // no reallocation: frames point into it
  keep_frames_ = false;
  for (const auto& message : batch) {
    keep_frames_ = keep_frames_ || message.event != nullptr;
    const auto text = text_of(message);
    const auto& header = headers.emplace_back(text_frame_header(text.size()));
    frames.emplace_back(header.bytes.data(), header.size);
    frames.emplace_back(text.data(), text.size());
  }
  if (ws_.next_layer().write_frames(frames, beast::bind_front_handler(&websocket_session::on_write, self())))
    on_write({}, 0);
}

void websocket_session::on_write(beast::error_code ec, std::size_t /*bytes*/) {
  // As the send queue: kept for streams that get job changes, up to kept_frames.
  if (!keep_frames_ || batch_frames_->headers.capacity() > kept_frames) batch_frames_.reset();
  on_written(ec);
}

void websocket_session::keepalive_ping() {
  net::post(ws_.get_executor(), [self = self()] {
    // One ping at a time (Beast holds one waiting ping); none once the close began.
    if (self->ping_in_flight_ || self->close_sent_ || !self->ws_.is_open()) return;
    self->ping_in_flight_ = true;
    self->ws_.async_ping({}, [self](beast::error_code) { self->ping_in_flight_ = false; });
  });
}

void websocket_session::keepalive_drop() {
  net::post(ws_.get_executor(), [self = self()] {
    outsider_log().log("websocket", spdlog::level::debug, "websocket of {}: client silent, dropped",
                       self->who().user_id);
    // As Beast's idle timeout did: the read fails, and finish() follows.
    beast::error_code ignored;
    beast::get_lowest_layer(self->ws_).close(ignored);
  });
}

void websocket_session::close_transport(stream_end reason) {
  if (close_sent_ || !open_) return;  // before the upgrade, on_accept closes
  close_sent_ = true;
  // A client that does not read never sees the close frame: Beast drops the
  // socket when the close handshake takes longer than close_grace.
  ws_.async_close(close_reason_for(reason), beast::bind_front_handler(&websocket_session::on_close, self()));
}

void websocket_session::on_close(beast::error_code ec) {
  if (ec && ec != net::error::operation_aborted)
    outsider_log().log("websocket", spdlog::level::debug, "websocket close: {}", ec.message());
  // The read loop ends with the close handshake (or the error) and calls finish().
}

}  // namespace progress::bridge
