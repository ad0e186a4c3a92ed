#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "asio.hpp"

#include "connect_gate.hpp"
#include "mqtt_codec.hpp"
#include "run_stats.hpp"

namespace progress::bench {

// How a contender frames job states on its WebSocket.
enum class wire_protocol {
  bridge,    // progress-bridge /api/v1/ws: snapshot, then {"type":"job",...}
  socketio,  // Engine.IO v4 / Socket.IO v5 text packets: 42["worker_progress",{...}]
  mqtt,      // MQTT 3.1.1 over WebSocket, straight from the broker
  plain,     // the worker's JSON as is, one text message each
};

struct client_setup {
  wire_protocol wire = wire_protocol::bridge;
  std::string host;
  std::uint16_t port = 0;
  std::string target;  // request target of the upgrade, token included where it goes there
  boost::asio::ip::address source;
  std::string user_id;
  std::string token;          // Socket.IO sends it in its CONNECT packet
  std::string mqtt_password;  // MQTT logs in as user_id
  std::string client_id;
  int jobs_expected = 0;  // ready needs the state of that many jobs (0: subscribed is enough)
  int final_jobs = 0;     // jobs whose final state the end-of-run check expects
  std::int64_t final_seq = -1;
  bool slow = false;
  std::chrono::milliseconds slow_pause{0};
  int max_reconnects = 3;
  bool storm_without_cursor = false;  // bridge: reconnect after a storm for a fresh snapshot
  // After a lost connection, connect here instead (another bridge replica); 0: the same port.
  std::uint16_t failover_port = 0;
  // bridge: reconnect with ?resume=state and the job versions held (docs/protocol.md "State resume").
  bool state_resume = false;
};

// Counters the clients of all threads share with the controlling thread.
struct client_progress {
  std::atomic<int> ready{0};      // clients holding their state now
  std::atomic<int> recovered{0};  // clients ready again after a reconnect storm
  std::atomic<int> failed_over{0};  // clients that lost their connection and went to the failover port
};

// One watching browser: connects from its own source address, authenticates the way its
// contender expects, records the latency of every job state it receives and keeps the
// latest state of each of its jobs.
class bench_client : public std::enable_shared_from_this<bench_client> {
 public:
  bench_client(boost::asio::io_context& io, client_setup setup, run_stats& stats, connect_gate& gate,
               client_progress& progress);

  void start();
  // Drops the connection at once (no close handshake) and connects again; the time
  // until the state is back is recorded as storm recovery. Call on the client's thread.
  void drop_and_reconnect(std::chrono::steady_clock::time_point storm_start);
  void stop();

  const client_setup& setup() const { return setup_; }
  bool holds_final_state() const;
  std::uint64_t live_deliveries() const { return live_deliveries_; }

 private:
  using ws_stream = boost::beast::websocket::stream<boost::beast::tcp_stream>;
  struct job_state {
    std::string id;
    std::int64_t seq = -1;
    bool terminal = false;
  };

  // The `resume` op with the versions of the jobs held.
  std::string resume_op() const;
  void fail_over();

  void begin_connect();
  void on_connected(std::uint64_t generation, boost::system::error_code ec);
  void on_handshake(std::uint64_t generation, boost::system::error_code ec);
  void read();
  void on_read(std::uint64_t generation, boost::system::error_code ec);
  void on_connection_lost(boost::system::error_code ec);
  void schedule_reconnect(std::chrono::milliseconds delay);
  void send(std::string message);
  void write_next();

  void handle_bridge(std::string_view text);
  void handle_socketio(std::string_view text);
  void handle_plain(std::string_view text);
  void handle_mqtt(std::string_view bytes);
  void on_live_state(std::string_view text);
  void on_state(std::string_view job_id, std::int64_t seq, bool terminal);
  void on_subscribed();
  void check_ready();

  boost::asio::io_context& io_;
  client_setup setup_;
  run_stats& stats_;
  connect_gate& gate_;
  client_progress& progress_;

  std::unique_ptr<ws_stream> ws_;
  boost::beast::flat_buffer buffer_;
  boost::asio::steady_timer timer_;
  mqtt_codec mqtt_;
  std::deque<std::string> outbox_;
  bool writing_ = false;
  bool reading_ = false;
  bool holding_gate_ = false;

  std::uint64_t generation_ = 0;
  bool subscribed_ = false;
  bool ready_ = false;
  bool stopped_ = false;
  bool dropping_ = false;
  bool in_storm_ = false;
  bool paused_once_ = false;
  int reconnects_ = 0;
  std::chrono::steady_clock::time_point connect_started_;
  std::chrono::steady_clock::time_point storm_start_;
  std::string cursor_;
  bool resuming_by_state_ = false;  // this connection asked for ?resume=state
  std::vector<job_state> jobs_;
  std::uint64_t live_deliveries_ = 0;
};

}  // namespace progress::bench
