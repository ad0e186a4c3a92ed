#include "mqtt_connection.hpp"

#include <algorithm>
#include <deque>

#include <openssl/ssl.h>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "mqtt_reason.hpp"
#include "parse_integer.hpp"

namespace progress::bridge {

namespace {

// Bytes asked of the socket per read, and kept as the buffer's capacity.
constexpr std::size_t read_chunk = 64 * 1024;

// QoS 1 acknowledgements wait to leave together: a write of their own per read
// was a tenth of the bridge's CPU at 30k messages/s. 256 of them (4 bytes
// each) go at once; fewer within 2 ms, far inside the broker's window.
constexpr std::size_t ack_flush_bytes = 1024;
constexpr auto ack_delay = std::chrono::milliseconds{2};

}  // namespace

std::optional<mqtt_endpoint> mqtt_endpoint::parse(std::string_view url) {
  mqtt_endpoint endpoint;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const auto scheme = url.substr(0, scheme_end);
  if (scheme == "tcp" || scheme == "mqtt") {
    endpoint.tls = false;
    endpoint.port = 1883;
  } else if (scheme == "ssl" || scheme == "mqtts") {
    endpoint.tls = true;
    endpoint.port = 8883;
  } else {
    return std::nullopt;
  }
  auto rest = url.substr(scheme_end + 3);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::string_view port_text;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    endpoint.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port_text = rest.substr(1);
    }
  } else {
    const auto colon = rest.rfind(':');
    endpoint.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port_text = rest.substr(colon + 1);
  }
  if (endpoint.host.empty() || endpoint.host.find_first_of("/@ ") != std::string::npos) return std::nullopt;
  if (!port_text.empty() || url.ends_with(':')) {
    const auto port = parse_integer<std::uint16_t>(port_text, 1, 65535);
    if (!port) return std::nullopt;
    endpoint.port = *port;
  }
  return endpoint;
}

std::string describe(const mqtt_connection_end& end) {
  using kind = mqtt_connection_end::kind;
  std::string text;
  switch (end.why) {
    case kind::unreachable: text = "cannot reach the broker"; break;
    case kind::refused:
      text = "the broker refused the connection: " + std::string(connack_hint(end.reason_code));
      break;
    case kind::lost: text = "connection lost"; break;
    case kind::broker_disconnect:
      text = "the broker disconnected the bridge: " + std::string(mqtt::reason_name(end.reason_code));
      break;
    case kind::keepalive_timeout: text = "the broker stopped answering (keep-alive timeout)"; break;
    case kind::protocol_error: text = "protocol error"; break;
    case kind::closed: text = "closed"; break;
  }
  if (!end.detail.empty()) text += " (" + end.detail + ")";
  return text;
}

// The byte stream under the MQTT session: TCP, or TLS over TCP.
class mqtt_connection::socket {
 public:
  using tls_stream = net::ssl::stream<tcp::socket>;

  socket(const strand_type& strand, net::ssl::context& tls, bool use_tls) {
    if (use_tls) {
      stream_.emplace<tls_stream>(strand, tls);
    } else {
      stream_.emplace<tcp::socket>(strand);
    }
  }

  tcp::socket& tcp_socket() {
    if (auto* tls = std::get_if<tls_stream>(&stream_)) return tls->next_layer();
    return std::get<tcp::socket>(stream_);
  }
  tls_stream* tls() { return std::get_if<tls_stream>(&stream_); }

  template <typename Buffers, typename Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    if (auto* tls = this->tls()) return tls->async_read_some(buffers, std::forward<Handler>(handler));
    std::get<tcp::socket>(stream_).async_read_some(buffers, std::forward<Handler>(handler));
  }
  template <typename Buffers, typename Handler>
  void async_write(const Buffers& buffers, Handler&& handler) {
    if (auto* tls = this->tls()) return net::async_write(*tls, buffers, std::forward<Handler>(handler));
    net::async_write(std::get<tcp::socket>(stream_), buffers, std::forward<Handler>(handler));
  }
  void close() {
    boost::system::error_code ignored;
    tcp_socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp_socket().close(ignored);
  }

 private:
  std::variant<std::monostate, tcp::socket, tls_stream> stream_;
};

mqtt_connection::mqtt_connection(strand_type strand, net::ssl::context& tls, mqtt_connection_options options,
                                 handlers on)
    : strand_(std::move(strand)),
      options_(std::move(options)),
      handlers_(std::move(on)),
      resolver_(strand_),
      socket_(std::make_unique<socket>(strand_, tls, options_.endpoint.tls)),
      connect_timer_(strand_),
      keepalive_timer_(strand_),
      ack_timer_(strand_),
      input_(options_.max_packet_size + read_chunk),
      keepalive_(options_.keepalive) {}

mqtt_connection::~mqtt_connection() = default;

void mqtt_connection::start() {
  net::dispatch(strand_, [self = shared_from_this()] {
    self->connect_timer_.expires_after(self->options_.connect_timeout);
    self->connect_timer_.async_wait([self](boost::system::error_code ec) {
      if (ec || self->ended_ || self->connected_) return;
      self->end({mqtt_connection_end::kind::unreachable, 0, "no CONNACK within the connect timeout"});
    });
    self->resolver_.async_resolve(self->options_.endpoint.host, std::to_string(self->options_.endpoint.port),
                                  [self](boost::system::error_code ec, tcp::resolver::results_type results) {
                                    self->on_resolved(ec, std::move(results));
                                  });
  });
}

void mqtt_connection::close() {
  net::dispatch(strand_, [self = shared_from_this()] {
    if (self->ended_) return;
    if (self->connected_) {
      // Best effort: the DISCONNECT tells the broker not to publish our will.
      std::string goodbye;
      mqtt::encode_disconnect(goodbye);
      boost::system::error_code ignored;
      net::write(self->socket_->tcp_socket(), net::buffer(goodbye), ignored);
    }
    self->end({mqtt_connection_end::kind::closed, 0, {}});
  });
}

void mqtt_connection::on_resolved(boost::system::error_code ec, tcp::resolver::results_type results) {
  if (ended_) return;
  if (ec)
    return end({mqtt_connection_end::kind::unreachable, 0,
                "resolve " + options_.endpoint.host + ": " + ec.message()});
  net::async_connect(socket_->tcp_socket(), results,
                     [self = shared_from_this()](boost::system::error_code error, const tcp::endpoint&) {
                       self->on_connected(error);
                     });
}

void mqtt_connection::on_connected(boost::system::error_code ec) {
  if (ended_) return;
  if (ec) return end({mqtt_connection_end::kind::unreachable, 0, ec.message()});
  boost::system::error_code ignored;
  socket_->tcp_socket().set_option(tcp::no_delay(true), ignored);
  if (auto* tls = socket_->tls()) {
    // Verify the broker's certificate for the host name we dialled, and say it (SNI).
    tls->set_verify_mode(net::ssl::verify_peer);
    tls->set_verify_callback(net::ssl::host_name_verification(options_.endpoint.host));
    // SSL_set_tlsext_host_name, without the macro's C-style cast.
    if (SSL_ctrl(tls->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(options_.endpoint.host.c_str())) != 1) {
      return end({mqtt_connection_end::kind::unreachable, 0, "TLS: cannot set the server name"});
    }
    tls->async_handshake(
        net::ssl::stream_base::client,
        [self = shared_from_this()](boost::system::error_code error) { self->on_handshake(error); });
    return;
  }
  on_handshake({});
}

void mqtt_connection::on_handshake(boost::system::error_code ec) {
  if (ended_) return;
  if (ec) return end({mqtt_connection_end::kind::unreachable, 0, "TLS handshake: " + ec.message()});
  mqtt::connect_request request;
  request.client_id = options_.client_id;
  request.username = options_.username;
  request.password = options_.password;
  request.keepalive_seconds =
      static_cast<std::uint16_t>(std::min<std::int64_t>(options_.keepalive.count(), 65535));
  request.clean_start = options_.clean_start;
  request.receive_maximum = options_.receive_maximum;
  request.maximum_packet_size = options_.max_packet_size;
  mqtt::encode_connect(output_, request);
  last_received_ = std::chrono::steady_clock::now();
  flush();
  do_read();
}

void mqtt_connection::do_read() {
  if (ended_) return;
  // Room for one more chunk; a packet larger than the buffer so far makes it grow, up to the limit.
  const auto room = std::min(read_chunk, input_.max_size() - input_.size());
  socket_->async_read_some(input_.prepare(room),
                           [self = shared_from_this()](boost::system::error_code ec, std::size_t bytes) {
                             self->input_.commit(bytes);
                             self->on_read(ec);
                           });
}

void mqtt_connection::on_read(boost::system::error_code ec) {
  if (ended_) return;
  if (ec) {
    return end(
        {mqtt_connection_end::kind::lost, 0, ec == net::error::eof ? "closed by the broker" : ec.message()});
  }
  last_received_ = std::chrono::steady_clock::now();
  const std::string_view bytes{static_cast<const char*>(input_.data().data()), input_.size()};
  std::size_t used = 0;
  batch_.clear();
  while (true) {
    auto decoded = mqtt::decode(bytes.substr(used), options_.max_packet_size);
    if (decoded.status == mqtt::decode_status::need_more) break;
    if (decoded.status == mqtt::decode_status::too_large) {
      return end({mqtt_connection_end::kind::protocol_error, 0,
                  "a packet of " + std::to_string(decoded.size) + " bytes, over the announced maximum"});
    }
    if (decoded.status == mqtt::decode_status::malformed) {
      return end({mqtt_connection_end::kind::protocol_error, 0, std::string(decoded.error)});
    }
    used += decoded.size;
    if (auto* message = std::get_if<mqtt::publish>(&decoded.value)) {
      if (!connected_) return end({mqtt_connection_end::kind::protocol_error, 0, "PUBLISH before CONNACK"});
      if (message->level == mqtt::qos::at_least_once) acknowledge_.push_back(message->packet_id);
      batch_.push_back(*message);
      continue;
    }
    // Other packets in order, after the messages that came before them.
    if (!batch_.empty()) {
      handlers_.messages(batch_);
      batch_.clear();
      if (ended_) return;
    }
    if (!handle(decoded.value)) return;
  }
  if (!batch_.empty()) {
    handlers_.messages(batch_);
    batch_.clear();
    if (ended_) return;
  }
  input_.consume(used);
  // A buffer that grew for one large packet shrinks again once it is drained.
  if (input_.size() == 0 && input_.capacity() > 2 * read_chunk) input_.shrink_to_fit();
  for (const auto id : acknowledge_) mqtt::encode_puback(output_, id);
  acknowledge_.clear();
  flush_acknowledgements();
  do_read();
}

void mqtt_connection::flush_acknowledgements() {
  if (output_.size() >= ack_flush_bytes) return flush();
  if (output_.empty() || ack_timer_armed_) return;
  ack_timer_armed_ = true;
  ack_timer_.expires_after(ack_delay);
  ack_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    self->ack_timer_armed_ = false;
    if (!ec) self->flush();
  });
}

bool mqtt_connection::fail(mqtt_connection_end how) {
  end(std::move(how));
  return false;
}

bool mqtt_connection::handle(mqtt::packet& packet) {
  using kind = mqtt_connection_end::kind;
  if (auto* ack = std::get_if<mqtt::connack>(&packet)) {
    if (connected_) return fail({kind::protocol_error, 0, "second CONNACK"});
    if (ack->reason_code >= 0x80) {
      return fail({kind::refused, ack->reason_code, std::string(ack->reason_string)});
    }
    connected_ = true;
    connect_timer_.cancel();
    broker_receive_maximum_ = ack->receive_maximum;
    // The broker may shorten (or set) the keep-alive; 0 means it wants none.
    if (ack->server_keep_alive) keepalive_ = std::chrono::seconds{*ack->server_keep_alive};
    arm_keepalive();
    handlers_.connected(*ack);
    return !ended_;
  }
  if (!connected_) return fail({kind::protocol_error, 0, "a packet before CONNACK"});
  if (auto* ack = std::get_if<mqtt::suback>(&packet)) {
    const auto it = subscribes_.find(ack->packet_id);
    if (it == subscribes_.end()) return fail({kind::protocol_error, 0, "SUBACK for no SUBSCRIBE"});
    auto done = std::move(it->second);
    subscribes_.erase(it);
    if (done) done(std::move(ack->reason_codes));
    return !ended_;
  }
  if (auto* ack = std::get_if<mqtt::puback>(&packet)) {
    const auto it = publishes_.find(ack->packet_id);
    if (it == publishes_.end()) return fail({kind::protocol_error, 0, "PUBACK for no PUBLISH"});
    auto done = std::move(it->second);
    publishes_.erase(it);
    if (done) done(ack->reason_code);
    return !ended_;
  }
  if (std::holds_alternative<mqtt::pingresp>(packet)) return true;
  if (auto* notice = std::get_if<mqtt::disconnect>(&packet)) {
    return fail({kind::broker_disconnect, notice->reason_code, std::string(notice->reason_string)});
  }
  return fail({kind::protocol_error, 0, "unexpected packet"});
}

void mqtt_connection::subscribe(std::vector<std::string> filters, mqtt::qos max_qos, subscribe_handler done) {
  if (ended_ || !connected_) {
    if (done) done(std::nullopt);
    return;
  }
  std::vector<mqtt::subscription> entries;
  entries.reserve(filters.size());
  for (const auto& filter : filters) entries.push_back({filter, max_qos});
  const auto id = next_packet_id();
  subscribes_[id] = std::move(done);
  mqtt::encode_subscribe(output_, id, entries);
  flush();
}

void mqtt_connection::publish(std::string_view topic, std::string_view payload, mqtt::qos level, bool retain,
                              publish_handler done) {
  const bool full = output_.size() + topic.size() + payload.size() > options_.max_pending_output;
  const bool window_full = level == mqtt::qos::at_least_once && publishes_.size() >= broker_receive_maximum_;
  if (ended_ || !connected_ || full || window_full) {
    if (done) done(std::nullopt);
    return;
  }
  std::uint16_t id = 0;
  if (level == mqtt::qos::at_least_once) {
    id = next_packet_id();
    publishes_[id] = std::move(done);
  } else if (done) {
    unwritten_.push_back(std::move(done));
  }
  mqtt::encode_publish(output_, topic, payload, level, retain, id);
  flush();
}

std::uint16_t mqtt_connection::next_packet_id() {
  // Ids in use are bounded by the broker's window plus pending subscribes.
  do {
    last_packet_id_ = static_cast<std::uint16_t>(last_packet_id_ == 65535 ? 1 : last_packet_id_ + 1);
  } while (publishes_.contains(last_packet_id_) || subscribes_.contains(last_packet_id_));
  return last_packet_id_;
}

void mqtt_connection::flush() {
  if (ended_ || !writing_.empty() || output_.empty()) return;
  writing_.swap(output_);
  written_.swap(unwritten_);
  last_sent_ = std::chrono::steady_clock::now();
  socket_->async_write(net::buffer(writing_),
                       [self = shared_from_this()](boost::system::error_code ec, std::size_t bytes) {
                         self->on_written(ec, bytes);
                       });
}

void mqtt_connection::on_written(boost::system::error_code ec, std::size_t /*bytes*/) {
  writing_.clear();
  auto done = std::move(written_);
  written_.clear();
  if (ended_) return;
  if (ec) return end({mqtt_connection_end::kind::lost, 0, ec.message()});
  for (auto& handler : done) handler(std::uint8_t{0});
  flush();
}

void mqtt_connection::arm_keepalive() {
  if (keepalive_.count() == 0) return;
  // Check four times per interval: a ping is due after `keepalive` of silence
  // from us, the broker is gone after 1.5 × keepalive of silence from it.
  keepalive_timer_.expires_after(std::max(
      std::chrono::milliseconds{100}, std::chrono::duration_cast<std::chrono::milliseconds>(keepalive_) / 4));
  keepalive_timer_.async_wait(
      [self = shared_from_this()](boost::system::error_code ec) { self->on_keepalive(ec); });
}

void mqtt_connection::on_keepalive(boost::system::error_code ec) {
  if (ec || ended_) return;
  const auto now = std::chrono::steady_clock::now();
  const auto silence_allowed = std::chrono::duration_cast<std::chrono::milliseconds>(keepalive_) * 3 / 2;
  if (now - last_received_ > silence_allowed) {
    return end({mqtt_connection_end::kind::keepalive_timeout, 0, {}});
  }
  if (now - last_sent_ >= keepalive_ && output_.empty() && writing_.empty()) {
    mqtt::encode_pingreq(output_);
    flush();
  }
  arm_keepalive();
}

void mqtt_connection::end(mqtt_connection_end how) {
  if (ended_) return;
  ended_ = true;
  connected_ = false;
  connect_timer_.cancel();
  keepalive_timer_.cancel();
  ack_timer_.cancel();
  resolver_.cancel();
  socket_->close();
  // Whoever waits for an acknowledgement learns that none will come.
  auto subscribes = std::move(subscribes_);
  auto publishes = std::move(publishes_);
  auto unwritten = std::move(unwritten_);
  for (auto& [id, done] : subscribes) {
    if (done) done(std::nullopt);
  }
  for (auto& [id, done] : publishes) {
    if (done) done(std::nullopt);
  }
  for (auto& done : unwritten) done(std::nullopt);
  if (handlers_.closed) handlers_.closed(how);
  handlers_ = {};
}

}  // namespace progress::bridge
