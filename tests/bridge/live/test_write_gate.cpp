// The write gate under a server WebSocket, over real loopback sockets: frames
// built by the session and Beast's own frames (pongs, close) must reach a
// Beast client whole and in order, also when the client reads slowly and the
// socket takes a batch in many parts.
#include "write_gate.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "websocket_frame.hpp"

namespace progress::bridge {
namespace {

using namespace std::chrono_literals;

// A connected pair: a Beast client and a server stream over the gate.
struct websocket_pair {
  net::io_context io;
  websocket::stream<tcp::socket> client{io};
  std::unique_ptr<websocket::stream<write_gate>> server;

  // `small_buffers`: tiny kernel buffers, so that big writes are taken in parts.
  explicit websocket_pair(bool small_buffers = false) {
    tcp::acceptor acceptor{io, tcp::endpoint{net::ip::make_address("127.0.0.1"), 0}};
    connection_socket accepted{net::make_strand(io)};
    if (small_buffers) client.next_layer().open(tcp::v4());
    if (small_buffers) client.next_layer().set_option(net::socket_base::receive_buffer_size{4096});
    client.next_layer().connect(acceptor.local_endpoint());
    acceptor.accept(accepted);
    if (small_buffers) accepted.set_option(net::socket_base::send_buffer_size{4096});
    server = std::make_unique<websocket::stream<write_gate>>(std::move(accepted));
    bool accepted_ok = false;
    bool handshaken = false;
    server->async_accept([&](beast::error_code ec) { accepted_ok = !ec; });
    client.async_handshake("127.0.0.1", "/", [&](beast::error_code ec) { handshaken = !ec; });
    run_until([&] { return accepted_ok && handshaken; });
  }

  // Runs the io_context until `done` holds (fails the test after 10 s).
  void run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "timed out";
      io.run_for(5ms);
      io.restart();
    }
  }
};

// Frames for `texts`, as websocket_session builds them.
struct frame_batch {
  std::vector<std::string> texts;
  std::vector<frame_header> headers;
  std::vector<net::const_buffer> buffers;

  explicit frame_batch(std::vector<std::string> batch) : texts(std::move(batch)) {
    headers.reserve(texts.size());
    for (const auto& text : texts) {
      const auto& header = headers.emplace_back(text_frame_header(text.size()));
      buffers.emplace_back(header.bytes.data(), header.size);
      buffers.emplace_back(text.data(), text.size());
    }
  }
};

std::string payload(std::size_t index, std::size_t size) {
  std::string text = "message " + std::to_string(index) + " ";
  text.resize(size, static_cast<char>('a' + index % 26));
  return text;
}

TEST(TextFrameHeader, EncodesThePayloadLengthInTheShortestForm) {
  EXPECT_EQ(text_frame_header(0).size, 2);
  EXPECT_EQ(text_frame_header(125).bytes[1], 125);
  const auto medium = text_frame_header(126);
  EXPECT_EQ(medium.size, 4);
  EXPECT_EQ(medium.bytes[1], 126);
  EXPECT_EQ(medium.bytes[3], 126);
  const auto largest_medium = text_frame_header(0xffff);
  EXPECT_EQ(largest_medium.size, 4);
  EXPECT_EQ(largest_medium.bytes[2], 0xff);
  const auto large = text_frame_header(0x10000);
  EXPECT_EQ(large.size, 10);
  EXPECT_EQ(large.bytes[1], 127);
  EXPECT_EQ(large.bytes[7], 1);
  EXPECT_EQ(large.bytes[0], 0x81);
}

TEST(WriteGate, AFreeSocketTakesABatchAtOnceAndTheClientReadsEveryFrame) {
  websocket_pair pair;
  const frame_batch batch{{"", payload(1, 125), payload(2, 126), payload(3, 65535), payload(4, 65536)}};
  bool completed = false;
  const bool at_once = pair.server->next_layer().write_frames(
      batch.buffers, [&](beast::error_code, std::size_t) { completed = true; });
  if (!at_once) pair.run_until([&] { return completed; });
  EXPECT_TRUE(pair.server->next_layer().quiet());
  for (const auto& expected : batch.texts) {
    beast::flat_buffer buffer;
    pair.client.read(buffer);
    EXPECT_TRUE(pair.client.got_text());
    EXPECT_EQ(beast::buffers_to_string(buffer.data()), expected);
  }
}

// The hazard the gate exists for: a client pings while the server's frames
// are stuck in a full socket, so Beast's pongs must wait for the frame being
// written and never land inside it; then the close frame follows the rest.
TEST(WriteGate, PongsAndCloseWaitForFramesInFlightToASlowReader) {
  websocket_pair pair{/*small_buffers=*/true};
  auto& server = *pair.server;
  auto& gate = server.next_layer();

  int pings_seen = 0;
  server.control_callback([&](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::ping) ++pings_seen;
  });
  beast::flat_buffer server_read;
  beast::error_code server_read_end;
  bool server_read_done = false;
  // The read answers pings (Beast writes the pongs) and sees the close reply.
  server.async_read(server_read, [&](beast::error_code ec, std::size_t) {
    server_read_end = ec;
    server_read_done = true;
  });

  // 40 batches of 10 frames of 4 KiB: far more than the socket buffers hold.
  constexpr std::size_t batches = 40;
  constexpr std::size_t per_batch = 10;
  std::vector<std::unique_ptr<frame_batch>> sent;
  std::size_t written_batches = 0;
  std::size_t parked_writes = 0;
  std::function<void()> write_next = [&] {
    while (written_batches < batches) {
      std::vector<std::string> texts;
      for (std::size_t i = 0; i < per_batch; ++i)
        texts.push_back(payload(written_batches * per_batch + i, 4096));
      const auto& batch = *sent.emplace_back(std::make_unique<frame_batch>(std::move(texts)));
      ++written_batches;
      if (!gate.write_frames(batch.buffers, [&](beast::error_code ec, std::size_t) {
            ASSERT_FALSE(ec) << ec.message();
            write_next();
          })) {
        ++parked_writes;
        return;
      }
    }
  };
  write_next();
  ASSERT_GT(parked_writes, 0U) << "the socket took everything at once; the test needs a full socket";

  // Pings while the client reads nothing: their pongs queue behind the frames.
  constexpr int pings = 5;
  int pings_sent = 0;
  std::function<void()> ping_next = [&] {
    const std::string text = "p" + std::to_string(pings_sent);
    pair.client.async_ping(websocket::ping_data{text.data(), text.size()}, [&](beast::error_code ec) {
      ASSERT_FALSE(ec) << ec.message();
      if (++pings_sent < pings) ping_next();
    });
  };
  ping_next();
  // The server's read takes the first ping and waits with it until its pong
  // is written, which waits behind the frames.
  pair.run_until([&] { return pings_sent == pings && pings_seen >= 1; });
  EXPECT_FALSE(gate.quiet()) << "the pong should wait behind frames in flight";

  bool close_done = false;
  std::vector<std::string> pongs;
  pair.client.control_callback([&](websocket::frame_type kind, beast::string_view text) {
    if (kind == websocket::frame_type::pong) pongs.emplace_back(text);
  });
  // Now the client reads: every frame whole and in order, pongs between them.
  std::size_t received = 0;
  beast::flat_buffer buffer;
  beast::error_code client_end;
  bool client_done = false;
  std::function<void()> read_next = [&] {
    pair.client.async_read(buffer, [&](beast::error_code ec, std::size_t) {
      if (ec) {
        client_end = ec;
        client_done = true;
        return;
      }
      EXPECT_EQ(beast::buffers_to_string(buffer.data()), payload(received, 4096)) << "frame " << received;
      ++received;
      buffer.consume(buffer.size());
      if (received == batches * per_batch) {
        // After the last frame, the server closes: its close frame comes after every frame.
        server.async_close(websocket::close_reason{websocket::close_code{4008}, "slow consumer"},
                           [&](beast::error_code) { close_done = true; });
      }
      read_next();
    });
  };
  read_next();
  pair.run_until([&] { return client_done && close_done && server_read_done; });

  EXPECT_EQ(received, batches * per_batch);
  EXPECT_EQ(pings_seen, pings);
  EXPECT_EQ(client_end, websocket::error::closed);
  EXPECT_EQ(pair.client.reason().code, 4008);
  ASSERT_EQ(pongs.size(), static_cast<std::size_t>(pings));
  for (int i = 0; i < pings; ++i) EXPECT_EQ(pongs[static_cast<std::size_t>(i)], "p" + std::to_string(i));
  EXPECT_TRUE(gate.quiet());
}

// A close queued behind a batch the socket could not take at once leaves after it.
TEST(WriteGate, ACloseStartedWhileABatchWaitsFollowsTheBatch) {
  websocket_pair pair{/*small_buffers=*/true};
  auto& server = *pair.server;
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < 64; ++i) texts.push_back(payload(i, 8192));
  const frame_batch batch{std::move(texts)};
  bool batch_done = false;
  ASSERT_FALSE(server.next_layer().write_frames(batch.buffers, [&](beast::error_code ec, std::size_t) {
    EXPECT_FALSE(ec);
    batch_done = true;
  })) << "a 512 KiB batch should not fit the socket at once";
  bool close_done = false;
  server.async_close(websocket::close_code::going_away, [&](beast::error_code) { close_done = true; });
  beast::flat_buffer server_read;
  server.async_read(server_read, [](beast::error_code, std::size_t) {});

  std::size_t received = 0;
  beast::error_code client_end;
  for (;;) {
    beast::flat_buffer buffer;
    bool done = false;
    pair.client.async_read(buffer, [&](beast::error_code ec, std::size_t) {
      client_end = ec;
      done = true;
    });
    pair.run_until([&] { return done; });
    if (client_end) break;
    EXPECT_EQ(beast::buffers_to_string(buffer.data()), batch.texts[received]);
    ++received;
  }
  pair.run_until([&] { return batch_done && close_done; });
  EXPECT_EQ(received, batch.texts.size());
  EXPECT_EQ(client_end, websocket::error::closed);
  EXPECT_EQ(pair.client.reason().code, websocket::close_code::going_away);
}

}  // namespace
}  // namespace progress::bridge
