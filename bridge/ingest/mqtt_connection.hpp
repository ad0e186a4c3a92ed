#pragma once
// One MQTT v5 session of the bridge with its broker, on Asio, over TCP or
// TLS: connect, subscribe, receive, publish, keep alive, disconnect. It runs
// on the strand it is given and calls its handlers there, so whoever owns it
// (mqtt_ingest) needs no lock and no hand-off between threads.
//
// Reads are buffered: one read takes every packet the socket holds, the
// messages among them go to the `messages` handler as one batch, and their
// QoS 1 acknowledgements are queued once the handler has returned. They leave
// with the next write, at once when 256 wait, else at most 2 ms later. The
// next read starts only then, so a bridge that falls behind
// stops reading and acknowledging: the broker's window (Receive Maximum) and
// TCP hold the rest on the broker's side, and nothing is dropped here.
//
// Bounds: a packet is at most `max_packet_size` bytes (announced in CONNECT;
// a larger one ends the connection), the read buffer grows to at most
// max_packet_size plus one read, and at most the broker's Receive Maximum of
// our publishes wait for their acknowledgement (later ones wait in the output
// buffer, which holds at most `max_pending_output` bytes: publishing beyond
// it fails at once).
//
// Keep alive: a PINGREQ goes out when nothing was sent for `keepalive`; the
// connection is declared lost when nothing arrives for 1.5 × keepalive (a
// stopped broker is noticed within that time).
//
// Lifetime: owned by a std::shared_ptr; `closed` is called exactly once, after
// which no other handler is.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "asio.hpp"
#include "mqtt_codec.hpp"

namespace progress::bridge {

// Where the broker is: "tcp://host:port" or "mqtt://" (plain, default port
// 1883), "ssl://" or "mqtts://" (TLS, default port 8883); IPv6 hosts in brackets.
struct mqtt_endpoint {
  std::string host;
  std::uint16_t port = 1883;
  bool tls = false;

  // Nothing when `url` is not such a URL.
  [[nodiscard]] static std::optional<mqtt_endpoint> parse(std::string_view url);
};

struct mqtt_connection_options {
  mqtt_endpoint endpoint;
  std::string client_id;
  std::string username;
  std::string password;
  std::chrono::seconds keepalive{30};
  std::chrono::seconds connect_timeout{10};
  bool clean_start = true;
  std::uint16_t receive_maximum = 1000;
  std::uint32_t max_packet_size = 256 * 1024;
  std::size_t max_pending_output = std::size_t{4} * 1024 * 1024;
};

// How a connection ended.
struct mqtt_connection_end {
  enum class kind {
    unreachable,        // resolve, TCP connect or TLS handshake failed, or timed out
    refused,            // CONNACK with an error reason code
    lost,               // the socket failed or the broker closed it
    broker_disconnect,  // the broker sent DISCONNECT
    keepalive_timeout,  // nothing arrived for 1.5 × keepalive
    protocol_error,     // the broker sent something MQTT does not allow, or too large a packet
    closed,             // close() was called
  };
  kind why = kind::closed;
  std::uint8_t reason_code = 0;  // refused, broker_disconnect
  std::string detail;            // for logs: the error, reason string or what was malformed
};

[[nodiscard]] std::string describe(const mqtt_connection_end& end);

class mqtt_connection : public std::enable_shared_from_this<mqtt_connection> {
 public:
  using strand_type = net::strand<net::io_context::executor_type>;

  struct handlers {
    std::function<void(const mqtt::connack&)> connected;
    // The messages of one read, in order. Views are valid during the call only.
    std::function<void(std::span<const mqtt::publish>)> messages;
    std::function<void(const mqtt_connection_end&)> closed;
  };
  // Told the reason code of each filter (SUBACK), or nothing when the connection ended first.
  using subscribe_handler = std::function<void(std::optional<std::vector<std::uint8_t>>)>;
  // Told the PUBACK reason code (0: accepted), or nothing when the connection ended first.
  using publish_handler = std::function<void(std::optional<std::uint8_t>)>;

  // `tls` is used for ssl:// endpoints and must outlive the connection.
  mqtt_connection(strand_type strand, net::ssl::context& tls, mqtt_connection_options options, handlers on);
  ~mqtt_connection();

  mqtt_connection(const mqtt_connection&) = delete;
  mqtt_connection& operator=(const mqtt_connection&) = delete;

  // Resolves, connects, sends CONNECT. Once only; any thread.
  void start();
  // Sends DISCONNECT (when connected) and closes; `closed` follows. Any thread.
  void close();

  // On the strand, once connected.
  void subscribe(std::vector<std::string> filters, mqtt::qos max_qos, subscribe_handler done);
  // QoS 0 publishes complete when written (no acknowledgement to wait for).
  void publish(std::string_view topic, std::string_view payload, mqtt::qos level, bool retain,
               publish_handler done = {});

  [[nodiscard]] const strand_type& strand() const noexcept { return strand_; }

 private:
  class socket;

  void on_resolved(boost::system::error_code ec, net::ip::tcp::resolver::results_type results);
  void on_connected(boost::system::error_code ec);
  void on_handshake(boost::system::error_code ec);
  void do_read();
  void on_read(boost::system::error_code ec);
  // Handles one packet that is not a message; false when it ended the connection.
  bool handle(mqtt::packet& packet);
  bool fail(mqtt_connection_end how);
  void flush();
  // Writes the acknowledgements queued if enough wait, else soon (see the top).
  void flush_acknowledgements();
  void on_written(boost::system::error_code ec, std::size_t bytes);
  void arm_keepalive();
  void on_keepalive(boost::system::error_code ec);
  std::uint16_t next_packet_id();
  void end(mqtt_connection_end how);

  strand_type strand_;
  const mqtt_connection_options options_;
  handlers handlers_;
  net::ip::tcp::resolver resolver_;
  std::unique_ptr<socket> socket_;
  net::steady_timer connect_timer_;
  net::steady_timer keepalive_timer_;
  net::steady_timer ack_timer_;

  // Strand only.
  beast::flat_buffer input_;  // bytes read and not yet decoded
  std::string output_;        // packets waiting for the write in flight to finish
  std::string writing_;       // the packets of the write in flight
  std::vector<mqtt::publish> batch_;
  std::vector<std::uint16_t> acknowledge_;  // packet ids of the batch's QoS 1 messages
  bool ack_timer_armed_ = false;
  bool connected_ = false;  // CONNACK accepted
  bool ended_ = false;
  std::chrono::seconds keepalive_;
  std::chrono::steady_clock::time_point last_sent_;
  std::chrono::steady_clock::time_point last_received_;
  std::uint16_t broker_receive_maximum_ = 65535;
  std::uint16_t last_packet_id_ = 0;
  std::map<std::uint16_t, subscribe_handler> subscribes_;
  std::map<std::uint16_t, publish_handler> publishes_;
  std::vector<publish_handler> written_;  // QoS 0 completions of the write in flight
  std::vector<publish_handler> unwritten_;
};

}  // namespace progress::bridge
