#pragma once
// The MQTT v5 packets of the bridge's ingest (OASIS MQTT Version 5.0): it
// encodes what a subscriber sends (CONNECT, SUBSCRIBE, PUBLISH, PUBACK,
// PINGREQ, DISCONNECT) and decodes what a broker sends it (CONNACK, SUBACK,
// PUBLISH, PUBACK, PINGRESP, DISCONNECT).
//
// Why not Paho or libmosquitto here: every job update crosses this code, and
// both libraries read a packet with several system calls and acknowledge each
// QoS 1 message with a write of its own (measured in docs/benchmarks.md: about
// 8 µs of CPU per received message for Paho C++, 20 µs for libmosquitto,
// against about 1 µs for buffered reads and batched acknowledgements). The
// publisher SDK keeps Paho.
//
// Decoding reads bytes from the network: every length is checked against what
// is left of the packet, a packet larger than the limit is refused from its
// header alone, and anything the protocol does not allow a broker to send a
// subscriber like the bridge is malformed.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace progress::bridge::mqtt {

enum class qos : std::uint8_t { at_most_once = 0, at_least_once = 1 };

// What a CONNECT carries (MQTT v5 only).
struct connect_request {
  std::string_view client_id;
  std::string_view username;  // empty: none sent
  std::string_view password;  // empty: none sent
  std::uint16_t keepalive_seconds = 30;
  bool clean_start = true;
  std::uint32_t session_expiry_seconds = 0;
  // QoS 1 messages the broker may send before we acknowledge them; 0: not
  // sent (the protocol's default, 65535).
  std::uint16_t receive_maximum = 0;
  // The largest packet we accept; the broker drops larger messages for us. 0: not sent.
  std::uint32_t maximum_packet_size = 0;
};

struct subscription {
  std::string_view filter;
  qos max_qos = qos::at_least_once;
};

// Appends one encoded packet to `out`.
void encode_connect(std::string& out, const connect_request& request);
void encode_subscribe(std::string& out, std::uint16_t packet_id, std::span<const subscription> filters);
// `packet_id` is ignored (and not sent) for QoS 0.
void encode_publish(std::string& out, std::string_view topic, std::string_view payload, qos level, bool retain,
                    std::uint16_t packet_id);
void encode_puback(std::string& out, std::uint16_t packet_id);
void encode_pingreq(std::string& out);
void encode_disconnect(std::string& out, std::uint8_t reason_code = 0);

// Packets from the broker. Views point into the decoded bytes.
struct connack {
  bool session_present = false;
  std::uint8_t reason_code = 0;
  std::optional<std::uint16_t> server_keep_alive;
  std::uint16_t receive_maximum = 65535;  // QoS 1 messages we may have unacknowledged
  std::uint32_t maximum_packet_size = 0;  // 0: no limit announced
  std::string_view reason_string;
};
struct suback {
  std::uint16_t packet_id = 0;
  std::vector<std::uint8_t> reason_codes;  // one per filter, in order
};
struct publish {
  std::string_view topic;
  std::string_view payload;
  qos level = qos::at_most_once;
  bool retain = false;
  bool duplicate = false;
  std::uint16_t packet_id = 0;  // QoS 1 only
};
struct puback {
  std::uint16_t packet_id = 0;
  std::uint8_t reason_code = 0;
};
struct pingresp {};
struct disconnect {
  std::uint8_t reason_code = 0;
  std::string_view reason_string;
};

using packet = std::variant<connack, suback, publish, puback, pingresp, disconnect>;

enum class decode_status {
  complete,   // `packet` holds the first packet, `size` bytes long
  need_more,  // the bytes end inside the first packet
  malformed,  // not a packet a broker may send us: `error` says why
  too_large,  // the first packet is over the limit (known from its header)
};

struct decode_result {
  decode_status status = decode_status::need_more;
  std::size_t size = 0;  // bytes of the whole packet (complete, too_large)
  packet value;
  std::string_view error;  // malformed: a fixed description, safe to log
};

// Decodes the first packet of `bytes`, refusing one over `max_packet_size` bytes.
[[nodiscard]] decode_result decode(std::string_view bytes, std::size_t max_packet_size);

}  // namespace progress::bridge::mqtt
