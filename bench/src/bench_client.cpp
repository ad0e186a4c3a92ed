#include "bench_client.hpp"

#include <netinet/in.h>

#include <nlohmann/json.hpp>
#include "asio.hpp"

#include "payload_fields.hpp"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace progress::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using clock = std::chrono::steady_clock;

namespace {

// Lets connect() choose the source port per destination, so one source address serves
// far more than 28k connections across contenders.
using bind_address_no_port = asio::detail::socket_option::boolean<IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT>;

constexpr auto handshake_timeout = std::chrono::seconds(15);

std::int64_t micros_since(clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - start).count();
}

std::int64_t monotonic_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch()).count();
}

}  // namespace

bench_client::bench_client(asio::io_context& io, client_setup setup, run_stats& stats, connect_gate& gate,
                           client_progress& progress)
    : io_(io), setup_(std::move(setup)), stats_(stats), gate_(gate), progress_(progress), timer_(io) {}

void bench_client::start() {
  gate_.enter([self = shared_from_this()] { self->begin_connect(); });
}

void bench_client::begin_connect() {
  holding_gate_ = true;
  ++generation_;
  subscribed_ = false;
  writing_ = false;
  reading_ = false;
  outbox_.clear();
  buffer_.clear();
  mqtt_ = mqtt_codec{};
  connect_started_ = clock::now();
  ws_ = std::make_unique<ws_stream>(io_);
  auto& socket = beast::get_lowest_layer(*ws_).socket();
  boost::system::error_code ec;
  socket.open(asio::ip::tcp::v4(), ec);
  if (!ec) socket.set_option(bind_address_no_port(true), ec);
  if (!ec) socket.bind(asio::ip::tcp::endpoint(setup_.source, 0), ec);
  if (ec) {
    on_connected(generation_, ec);
    return;
  }
  beast::get_lowest_layer(*ws_).expires_after(handshake_timeout);
  const asio::ip::tcp::endpoint server(asio::ip::make_address(setup_.host), setup_.port);
  beast::get_lowest_layer(*ws_).async_connect(
      server, [self = shared_from_this(), generation = generation_](boost::system::error_code error) {
        self->on_connected(generation, error);
      });
}

void bench_client::on_connected(std::uint64_t generation, boost::system::error_code ec) {
  if (generation != generation_ || stopped_) return;
  if (ec) {
    on_connection_lost(ec);
    return;
  }
  if (setup_.wire == wire_protocol::mqtt) {
    ws_->set_option(websocket::stream_base::decorator([](websocket::request_type& request) {
      request.set(beast::http::field::sec_websocket_protocol, "mqtt");
    }));
    ws_->binary(true);
  }
  std::string target = setup_.target;
  if (setup_.wire == wire_protocol::bridge && !cursor_.empty()) target += "&cursor=" + cursor_;
  resuming_by_state_ = setup_.wire == wire_protocol::bridge && setup_.state_resume && !jobs_.empty();
  if (resuming_by_state_) target += "&resume=state";
  ws_->async_handshake(setup_.host + ":" + std::to_string(setup_.port), target,
                       [self = shared_from_this(), generation](boost::system::error_code error) {
                         self->on_handshake(generation, error);
                       });
}

void bench_client::on_handshake(std::uint64_t generation, boost::system::error_code ec) {
  if (generation != generation_ || stopped_) return;
  if (ec) {
    on_connection_lost(ec);
    return;
  }
  if (holding_gate_) {
    holding_gate_ = false;
    gate_.release();
  }
  beast::get_lowest_layer(*ws_).expires_never();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = handshake_timeout;
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws_->set_option(timeouts);
  if (setup_.wire == wire_protocol::mqtt)
    send(mqtt_codec::connect(setup_.client_id, setup_.user_id, setup_.mqtt_password, 0));
  // The bridge holds its first message back until the versions held arrive.
  if (resuming_by_state_) send(resume_op());
  // The bridge and the plain relay subscribe the token's user by themselves; Socket.IO
  // waits for Engine.IO's open packet first.
  read();
}

void bench_client::read() {
  if (setup_.slow && paused_once_ && timer_.expiry() > clock::now()) return;  // resumed by the timer
  reading_ = true;
  ws_->async_read(buffer_, [self = shared_from_this(), generation = generation_](
                               boost::system::error_code ec, std::size_t) { self->on_read(generation, ec); });
}

void bench_client::on_read(std::uint64_t generation, boost::system::error_code ec) {
  if (generation != generation_) return;
  reading_ = false;
  if (stopped_) return;
  if (ec) {
    on_connection_lost(ec);
    return;
  }
  const auto data = buffer_.cdata();
  const std::string_view message(static_cast<const char*>(data.data()), data.size());
  if (in_storm_) stats_.storm_bytes_received += data.size();
  try {
    switch (setup_.wire) {
      case wire_protocol::bridge: handle_bridge(message); break;
      case wire_protocol::socketio: handle_socketio(message); break;
      case wire_protocol::plain: handle_plain(message); break;
      case wire_protocol::mqtt: handle_mqtt(message); break;
    }
  } catch (const std::exception&) {
    ++stats_.protocol_errors;
  }
  buffer_.consume(buffer_.size());
  if (stopped_ || generation != generation_) return;
  read();
}

void bench_client::on_connection_lost(boost::system::error_code ec) {
  if (holding_gate_) {
    holding_gate_ = false;
    gate_.release();
  }
  if (ready_) {
    ready_ = false;
    progress_.ready.fetch_sub(1, std::memory_order_relaxed);
  }
  if (dropping_) {
    dropping_ = false;
    start();
    return;
  }
  if (!subscribed_) ++stats_.connect_failures;
  if (ec == websocket::error::closed) stats_.count_close_code(ws_->reason().code);
  ++stats_.disconnects;
  if (setup_.failover_port != 0 && setup_.port != setup_.failover_port) fail_over();
  if (reconnects_ >= setup_.max_reconnects) return;
  ++reconnects_;
  ++stats_.reconnects;
  schedule_reconnect(std::chrono::milliseconds(200));
}

void bench_client::fail_over() {
  // The replica is gone: the next connection goes to the other one. Recovered means the
  // client holds the current state again: from a full snapshot, or confirmed by a state resume.
  setup_.port = setup_.failover_port;
  storm_start_ = clock::now();
  in_storm_ = true;
  if (!setup_.state_resume) jobs_.clear();
  progress_.failed_over.fetch_add(1, std::memory_order_relaxed);
}

std::string bench_client::resume_op() const {
  nlohmann::json held = nlohmann::json::array();
  for (const auto& job : jobs_) {
    // The benchmark publisher's states carry attempt 0 and a seq: the version the bridge compares.
    held.push_back({{"userId", setup_.user_id},
                    {"jobId", job.id},
                    {"status", job.terminal ? "completed" : "in_progress"},
                    {"attempt", 0},
                    {"seq", job.seq}});
  }
  return nlohmann::json{{"op", "resume"}, {"jobs", std::move(held)}}.dump();
}

void bench_client::schedule_reconnect(std::chrono::milliseconds delay) {
  timer_.expires_after(delay);
  timer_.async_wait([self = shared_from_this(), generation = generation_](boost::system::error_code ec) {
    if (ec || self->stopped_ || generation != self->generation_) return;
    self->start();
  });
}

void bench_client::drop_and_reconnect(clock::time_point storm_start) {
  if (stopped_ || !ws_) return;
  storm_start_ = storm_start;
  in_storm_ = true;
  // Recovered means: the state arrived again over the new connection. A bridge client
  // resuming with its cursor keeps its state; the bridge's `resume` confirms it current.
  // A state resume keeps the jobs: the bridge confirms them current or sends what changed.
  if (setup_.wire != wire_protocol::bridge || setup_.storm_without_cursor) {
    if (!setup_.state_resume) jobs_.clear();
    cursor_.clear();
  }
  boost::system::error_code ignored;
  auto& socket = beast::get_lowest_layer(*ws_).socket();
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
  if (reading_) {
    dropping_ = true;  // the aborted read reconnects
    return;
  }
  if (ready_) {
    ready_ = false;
    progress_.ready.fetch_sub(1, std::memory_order_relaxed);
  }
  ++generation_;
  start();
}

void bench_client::stop() {
  stopped_ = true;
  timer_.cancel();
  if (ws_) {
    boost::system::error_code ignored;
    beast::get_lowest_layer(*ws_).socket().close(ignored);
  }
}

void bench_client::send(std::string message) {
  if (in_storm_) stats_.storm_bytes_sent += message.size();
  outbox_.push_back(std::move(message));
  if (!writing_) write_next();
}

void bench_client::write_next() {
  if (outbox_.empty() || !ws_) {
    writing_ = false;
    return;
  }
  writing_ = true;
  ws_->async_write(asio::buffer(outbox_.front()), [self = shared_from_this(), generation = generation_](
                                                      boost::system::error_code ec, std::size_t) {
    if (generation != self->generation_) return;
    self->outbox_.pop_front();
    if (ec) {
      self->writing_ = false;
      return;  // the read side reports the loss
    }
    self->write_next();
  });
}

void bench_client::handle_bridge(std::string_view text) {
  if (const auto cursor = find_string_field(text, "\"cursor\":\""); !cursor.empty()) cursor_ = cursor;
  const auto type = find_string_field(text, "\"type\":\"");
  if (type == "job") {
    on_live_state(text);
  } else if (type == "snapshot") {
    const auto snapshot = nlohmann::json::parse(text);
    if (snapshot.value("recovery", std::string{}) == "state") {
      for (const auto& gone : snapshot.at("removed")) {
        const auto id = gone.value("jobId", std::string{});
        std::erase_if(jobs_, [&](const job_state& job) { return job.id == id; });
      }
    }
    for (const auto& job : snapshot.at("jobs")) {
      const auto status = job.value("status", std::string{});
      on_state(job.value("jobId", std::string{}), job.value("seq", std::int64_t{-1}),
               status == "completed" || status == "failed" || status == "cancelled");
    }
    ++stats_.state_messages;
    on_subscribed();
  } else if (type == "resume") {
    ++stats_.state_messages;
    on_subscribed();
  } else if (type == "error") {
    ++stats_.protocol_errors;
  }
}

void bench_client::handle_socketio(std::string_view text) {
  if (text.empty()) return;
  switch (text[0]) {
    case '0':  // Engine.IO open: connect to the default namespace with the token
      send("40" + nlohmann::json{{"token", setup_.token}}.dump());
      return;
    case '2': send("3"); return;  // Engine.IO ping
    case '4': break;              // Engine.IO message: a Socket.IO packet follows
    default: return;
  }
  if (text.size() < 2) return;
  if (text[1] == '4') {  // CONNECT_ERROR
    ++stats_.protocol_errors;
    return;
  }
  if (text[1] != '2') return;  // only EVENTs matter past the CONNECT ack
  if (text.substr(2, 12) == "[\"subscribed") {
    on_subscribed();
    return;
  }
  on_live_state(text);
}

void bench_client::handle_plain(std::string_view text) {
  if (text.starts_with("{\"type\":\"ready\"")) {
    on_subscribed();
    return;
  }
  on_live_state(text);
}

void bench_client::handle_mqtt(std::string_view bytes) {
  mqtt_.feed(bytes);
  while (const auto packet = mqtt_.next()) {
    switch (packet->type) {
      case mqtt_codec::connack:
        if (packet->body.size() < 2 || packet->body[1] != 0) {
          ++stats_.protocol_errors;
          return;
        }
        send(mqtt_codec::subscribe(1, "users/" + setup_.user_id + "/jobs/+", 0));
        break;
      case mqtt_codec::suback:
        if (packet->body.size() < 3 || static_cast<std::uint8_t>(packet->body[2]) == 0x80) {
          ++stats_.protocol_errors;
          return;
        }
        on_subscribed();
        break;
      case mqtt_codec::publish_type: {
        const auto publish = mqtt_codec::parse_publish(*packet);
        if (!publish) {
          ++stats_.protocol_errors;
          break;
        }
        if (publish->qos == 1) send(mqtt_codec::puback(publish->packet_id));
        if (publish->retain) {
          // Sent because of the new subscription: the job's current state, not a live update.
          if (const auto fields = payload_fields::scan(publish->payload)) {
            ++stats_.state_messages;
            on_state(fields->job_id, fields->seq, fields->terminal);
          }
          check_ready();
        } else {
          on_live_state(publish->payload);
        }
        break;
      }
      default: break;
    }
  }
}

void bench_client::on_live_state(std::string_view text) {
  const auto fields = payload_fields::scan(text);
  if (!fields) {
    ++stats_.untimed_messages;
    return;
  }
  if (fields->step >= 0 && fields->sent_ns > 0) {
    const auto latency_us = (monotonic_now_ns() - fields->sent_ns) / 1000;
    if (setup_.slow)
      stats_.record_slow_delivery(latency_us);
    else
      stats_.record_delivery(fields->step, latency_us);
    ++live_deliveries_;
  } else {
    ++stats_.untimed_messages;
  }
  on_state(fields->job_id, fields->seq, fields->terminal);
  check_ready();
  if (setup_.slow && !paused_once_ && fields->step >= 0) {
    // A slow consumer: stops reading for a while at the first live update.
    paused_once_ = true;
    timer_.expires_after(setup_.slow_pause);
    timer_.async_wait([self = shared_from_this(), generation = generation_](boost::system::error_code ec) {
      if (ec || self->stopped_ || generation != self->generation_ || self->reading_) return;
      self->read();
    });
  }
}

void bench_client::on_state(std::string_view job_id, std::int64_t seq, bool terminal) {
  for (auto& job : jobs_) {
    if (job.id == job_id) {
      if (seq >= job.seq) {
        job.seq = seq;
        job.terminal = terminal;
      }
      return;
    }
  }
  jobs_.push_back(job_state{std::string(job_id), seq, terminal});
}

void bench_client::on_subscribed() {
  subscribed_ = true;
  check_ready();
}

void bench_client::check_ready() {
  if (ready_ || !subscribed_ || static_cast<int>(jobs_.size()) < setup_.jobs_expected) return;
  ready_ = true;
  progress_.ready.fetch_add(1, std::memory_order_relaxed);
  if (in_storm_) {
    in_storm_ = false;
    stats_.record_storm_recovery(micros_since(storm_start_));
    progress_.recovered.fetch_add(1, std::memory_order_relaxed);
  } else if (reconnects_ == 0) {
    stats_.record_ready(micros_since(connect_started_));
  }
}

bool bench_client::holds_final_state() const {
  if (static_cast<int>(jobs_.size()) < setup_.final_jobs) return false;
  for (const auto& job : jobs_)
    if (!job.terminal || job.seq < setup_.final_seq) return false;
  return true;
}

}  // namespace progress::bench
