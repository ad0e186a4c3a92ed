#include "write_gate.hpp"

namespace progress::bridge {

namespace {

// What a drained gate may keep of the frames waiting for a write in flight.
constexpr std::size_t kept_buffers = 16;

void release_if_large(std::vector<net::const_buffer>& buffers) {
  buffers.clear();
  if (buffers.capacity() > kept_buffers) std::vector<net::const_buffer>{}.swap(buffers);
}

}  // namespace

write_gate::write_gate(connection_socket&& socket) : socket_(std::move(socket)) {
  // write_frames tries the socket at once and must never block the thread.
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
}

bool write_gate::write_frames_now(std::span<const net::const_buffer> frames) {
  std::size_t written = 0;
  if (quiet()) {
    boost::system::error_code ec;
    written = socket_.write_some(frames, ec);
    if (ec) written = 0;  // would block, or an error the asynchronous write reports
    if (written == net::buffer_size(frames)) return true;
  }
  // The rest waits, in order, behind whatever is held or in flight.
  for (const auto& frame : frames) {
    if (written >= frame.size()) {
      written -= frame.size();
      continue;
    }
    frames_.push_back(frame + written);
    written = 0;
  }
  return false;
}

void write_gate::flush() {
  if (flushing_ || (!beast_waiter_.handler && frames_.empty())) return;
  flushing_ = true;
  // Beast's bytes first: they were handed over before the frames now waiting
  // (frames wait only behind a write in flight, and then so do Beast's).
  beast_in_flight_.swap(beast_bytes_);
  beast_in_write_ = beast_waiter_.handler != nullptr;
  if (!beast_in_flight_.empty()) writing_.push_back(net::buffer(beast_in_flight_));
  frames_in_write_ = !frames_.empty();
  writing_.insert(writing_.end(), frames_.begin(), frames_.end());
  release_if_large(frames_);
  net::async_write(socket_, writing_,
                   [this](boost::system::error_code ec, std::size_t /*bytes*/) { on_flushed(ec); });
}

void write_gate::on_flushed(boost::system::error_code ec) {
  flushing_ = false;
  // Freed: most batches go straight to the socket, so an idle connection holds no list.
  std::vector<net::const_buffer>{}.swap(writing_);
  // Freed, not cleared: the handshake's response would otherwise stay held by
  // every idle connection (pings, pongs and close frames fit the string inline).
  std::string{}.swap(beast_in_flight_);
  parked beast_done;
  parked frames_done;
  if (beast_in_write_) beast_done = std::move(beast_waiter_);
  if (frames_in_write_) frames_done = std::move(frames_waiter_);
  beast_in_write_ = frames_in_write_ = false;
  // What arrived meanwhile goes next (after an error it fails the same way,
  // which completes its handler).
  flush();
  // Completing a handler may release the last hold on this gate's owner:
  // nothing of `this` is touched below.
  if (beast_done.handler) beast_done.handler->complete(ec, ec ? 0 : beast_done.bytes);
  if (frames_done.handler) frames_done.handler->complete(ec, 0);
}

void teardown(beast::role_type role, write_gate& gate, boost::system::error_code& ec) {
  websocket::teardown(role, gate.next_layer(), ec);
}

}  // namespace progress::bridge
