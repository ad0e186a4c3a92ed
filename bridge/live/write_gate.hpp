#pragma once
// The next layer under a server `websocket::stream`: a TCP socket whose every
// write passes one gate, so that frames the session builds itself and the
// bytes Beast writes (the handshake response, pongs, keep-alive pings, the
// close frame) reach the socket whole and in order, never interleaved.
//
// The session's frames (write_frames) are one gather write: it goes straight
// to the socket when nothing else is being written (a non-blocking send that
// usually takes all of it: no composed operation, no completion), and the
// rest, or the whole batch when a write is in flight, leaves as one
// asynchronous gather write. Beast's writes (async_write_some) are copied into
// a small buffer and leave first, in the next gather write; Beast completes
// them once they are on the socket. Reads go to the socket unchanged.
//
// Bounds: one batch of frames at a time (the caller's buffers, kept alive by
// the caller until its handler runs) and at most `beast_bytes_limit` bytes of
// Beast's (Beast writes one thing at a time; a control frame is at most
// 127 bytes, so it is always taken whole). A client that stops reading stops
// both: nothing more is taken until the socket takes what is held.
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "asio.hpp"

namespace progress::bridge {

class write_gate {
 public:
  using executor_type = connection_executor;
  using next_layer_type = connection_socket;
  using lowest_layer_type = connection_socket;
  using write_handler = void(boost::system::error_code, std::size_t);

  // Beast's bytes held at most (more in one write_some is taken in parts).
  static constexpr std::size_t beast_bytes_limit = 512;

  explicit write_gate(connection_socket&& socket);

  [[nodiscard]] executor_type get_executor() noexcept { return socket_.get_executor(); }
  [[nodiscard]] connection_socket& next_layer() noexcept { return socket_; }
  [[nodiscard]] connection_socket& lowest_layer() noexcept { return socket_; }

  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    return socket_.async_read_some(buffers, std::forward<Handler>(handler));
  }

  // Beast's writes: held until they are on the socket (see above).
  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    return net::async_initiate<Handler, write_handler>(
        [this](auto&& done, const ConstBuffers& bytes) {
          const std::size_t taken = take_beast_bytes(bytes);
          park(backlog_->beast_waiter, std::move(done), taken);
          flush();
        },
        handler, buffers);
  }

  // Writes whole frames after anything held before them. True: all of it was
  // written at once and `done` is dropped unused. False: `done(ec, bytes)`
  // runs once the rest is written (or failed); `frames` must stay valid until
  // then, and no other write_frames may start before.
  template <class Handler>
  bool write_frames(std::span<const net::const_buffer> frames, Handler&& done) {
    if (write_frames_now(frames)) return true;
    park(backlog_->frames_waiter, std::forward<Handler>(done), 0);
    flush();
    return false;
  }

  // Nothing held, nothing being written.
  [[nodiscard]] bool quiet() const noexcept { return !backlog_; }

 private:
  // A parked completion handler (Beast's, or the session's).
  struct waiter {
    virtual ~waiter() = default;
    virtual void complete(boost::system::error_code ec, std::size_t bytes) = 0;
  };
  template <class Handler>
  struct waiter_of final : waiter {
    // No work guard: a parked handler always waits for a gather write in
    // flight or about to start, which keeps its executor busy.
    waiter_of(Handler&& h, executor_type otherwise) : handler(std::move(h)), fallback(std::move(otherwise)) {}
    void complete(boost::system::error_code ec, std::size_t bytes) override {
      auto ex = net::get_associated_executor(handler, fallback);
      net::dispatch(ex, [h = std::move(handler), ec, bytes]() mutable { std::move(h)(ec, bytes); });
    }
    Handler handler;
    executor_type fallback;
  };
  struct parked {
    std::unique_ptr<waiter> handler;
    std::size_t bytes = 0;  // what it is told was written
  };
  // Whatever waits or is being written. Made when something must wait, freed
  // once the socket took it all: an idle connection, and one whose writes go
  // straight to the socket, hold none of it.
  struct backlog {
    std::string beast_bytes;                 // Beast's, waiting
    std::vector<net::const_buffer> frames;   // the session's, waiting (rest of a batch)
    std::vector<net::const_buffer> writing;  // the gather write in flight
    parked beast_waiter;
    parked frames_waiter;
    std::string beast_in_flight;   // Beast's bytes of the write in flight
    bool beast_in_write = false;   // beast_waiter completes with the write in flight
    bool frames_in_write = false;  // frames_waiter completes with the write in flight

    // A gather write is in flight: it always carries Beast's bytes or frames.
    [[nodiscard]] bool flushing() const noexcept { return beast_in_write || frames_in_write; }
  };

  backlog& held() {
    if (!backlog_) backlog_ = std::make_unique<backlog>();
    return *backlog_;
  }

  template <class Handler>
  void park(parked& slot, Handler&& handler, std::size_t bytes) {
    using decayed = std::decay_t<Handler>;
    slot.handler =
        std::make_unique<waiter_of<decayed>>(decayed(std::forward<Handler>(handler)), get_executor());
    slot.bytes = bytes;
  }

  template <class ConstBuffers>
  std::size_t take_beast_bytes(const ConstBuffers& buffers) {
    auto& bytes = held().beast_bytes;
    const std::size_t taken = std::min(net::buffer_size(buffers), beast_bytes_limit - bytes.size());
    const std::size_t at = bytes.size();
    bytes.resize(at + taken);
    net::buffer_copy(net::buffer(bytes.data() + at, taken), buffers, taken);
    return taken;
  }

  // Tries the frames at once; keeps what the socket did not take.
  bool write_frames_now(std::span<const net::const_buffer> frames);
  // Starts the next gather write when none is in flight and something waits.
  void flush();
  void on_flushed(boost::system::error_code ec);

  connection_socket socket_;
  std::unique_ptr<backlog> backlog_;
};

// Beast closes a WebSocket by tearing down its next layer: once what the gate
// holds is written, as for a plain socket.
void teardown(beast::role_type role, write_gate& gate, boost::system::error_code& ec);

template <class Handler>
void async_teardown(beast::role_type role, write_gate& gate, Handler&& handler) {
  websocket::async_teardown(role, gate.next_layer(), std::forward<Handler>(handler));
}

}  // namespace progress::bridge
