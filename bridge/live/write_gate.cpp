#include "write_gate.hpp"

namespace progress::bridge {

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
  auto& waiting = held().frames;
  for (const auto& frame : frames) {
    if (written >= frame.size()) {
      written -= frame.size();
      continue;
    }
    waiting.push_back(frame + written);
    written = 0;
  }
  return false;
}

void write_gate::flush() {
  auto& held = *backlog_;
  if (held.flushing() || (!held.beast_waiter.handler && held.frames.empty())) return;
  // Beast's bytes first: they were handed over before the frames now waiting
  // (frames wait only behind a write in flight, and then so do Beast's).
  held.beast_in_flight.swap(held.beast_bytes);
  held.beast_in_write = held.beast_waiter.handler != nullptr;
  if (!held.beast_in_flight.empty()) held.writing.push_back(net::buffer(held.beast_in_flight));
  held.frames_in_write = !held.frames.empty();
  held.writing.insert(held.writing.end(), held.frames.begin(), held.frames.end());
  held.frames.clear();
  net::async_write(socket_, held.writing,
                   [this](boost::system::error_code ec, std::size_t /*bytes*/) { on_flushed(ec); });
}

void write_gate::on_flushed(boost::system::error_code ec) {
  auto& held = *backlog_;
  held.writing.clear();
  held.beast_in_flight.clear();
  parked beast_done;
  parked frames_done;
  if (held.beast_in_write) beast_done = std::move(held.beast_waiter);
  if (held.frames_in_write) frames_done = std::move(held.frames_waiter);
  held.beast_in_write = held.frames_in_write = false;
  // What arrived meanwhile goes next (after an error it fails the same way,
  // which completes its handler); with nothing left, the backlog goes.
  flush();
  if (!held.flushing()) backlog_.reset();
  // Completing a handler may release the last hold on this gate's owner:
  // nothing of `this` is touched below.
  if (beast_done.handler) beast_done.handler->complete(ec, ec ? 0 : beast_done.bytes);
  if (frames_done.handler) frames_done.handler->complete(ec, 0);
}

void teardown(beast::role_type role, write_gate& gate, boost::system::error_code& ec) {
  websocket::teardown(role, gate.next_layer(), ec);
}

}  // namespace progress::bridge
