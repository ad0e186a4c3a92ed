#include "mqtt_codec.hpp"

#include <limits>

namespace progress::bridge::mqtt {

namespace {

enum packet_type : std::uint8_t {
  connect_type = 1,
  connack_type = 2,
  publish_type = 3,
  puback_type = 4,
  subscribe_type = 8,
  suback_type = 9,
  pingreq_type = 12,
  pingresp_type = 13,
  disconnect_type = 14,
};

// The largest value a Variable Byte Integer holds (four bytes).
constexpr std::uint32_t max_variable_integer = 268'435'455;

// Property identifiers this codec writes or reads by name (MQTT 5.0, 2.2.2.2).
enum property_id : std::uint8_t {
  session_expiry_interval = 0x11,
  server_keep_alive = 0x13,
  reason_string = 0x1F,
  receive_maximum = 0x21,
  topic_alias = 0x23,
  maximum_packet_size = 0x27,
};

// How each property's value is encoded, for skipping the ones we do not use.
enum class value_kind { none, byte, two_bytes, four_bytes, variable_integer, text, binary, text_pair };

value_kind kind_of(std::uint8_t id) noexcept {
  switch (id) {
    case 0x01: case 0x17: case 0x19: case 0x24: case 0x25: case 0x28: case 0x29: case 0x2A:
      return value_kind::byte;
    case 0x13: case 0x21: case 0x22: case 0x23: return value_kind::two_bytes;
    case 0x02: case 0x11: case 0x18: case 0x27: return value_kind::four_bytes;
    case 0x0B: return value_kind::variable_integer;
    case 0x03: case 0x08: case 0x12: case 0x15: case 0x1A: case 0x1C: case 0x1F: return value_kind::text;
    case 0x09: case 0x16: return value_kind::binary;
    case 0x26: return value_kind::text_pair;
    default: return value_kind::none;
  }
}

// --- encoding ------------------------------------------------------------

void put_byte(std::string& out, std::uint8_t value) {
  out.push_back(static_cast<char>(value));
}

void put_two(std::string& out, std::uint16_t value) {
  put_byte(out, static_cast<std::uint8_t>(value >> 8U));
  put_byte(out, static_cast<std::uint8_t>(value & 0xFFU));
}

void put_four(std::string& out, std::uint32_t value) {
  put_two(out, static_cast<std::uint16_t>(value >> 16U));
  put_two(out, static_cast<std::uint16_t>(value & 0xFFFFU));
}

void put_variable(std::string& out, std::size_t value) {
  do {
    auto digit = static_cast<std::uint8_t>(value % 128);
    value /= 128;
    if (value > 0) digit |= 0x80U;
    put_byte(out, digit);
  } while (value > 0);
}

// A UTF-8 string or binary data: a two-byte length, then the bytes. Longer
// input is cut at 65,535 bytes (callers pass ids, topics and passwords).
void put_text(std::string& out, std::string_view text) {
  const auto size = std::min<std::size_t>(text.size(), std::numeric_limits<std::uint16_t>::max());
  put_two(out, static_cast<std::uint16_t>(size));
  out.append(text.substr(0, size));
}

// Appends the fixed header for `body` and then `body`.
void put_packet(std::string& out, std::uint8_t first_byte, std::string_view body) {
  put_byte(out, first_byte);
  put_variable(out, body.size());
  out.append(body);
}

// --- decoding ------------------------------------------------------------

// Reads the fields of one packet's body, front to back; any read past the end
// sets `failed` and yields zeros.
class body_reader {
 public:
  explicit body_reader(std::string_view body) : rest_(body) {}

  [[nodiscard]] bool failed() const noexcept { return failed_; }
  [[nodiscard]] bool empty() const noexcept { return rest_.empty(); }
  [[nodiscard]] std::string_view rest() const noexcept { return rest_; }
  [[nodiscard]] std::size_t left() const noexcept { return rest_.size(); }

  std::uint8_t byte() {
    if (!take(1)) return 0;
    return static_cast<std::uint8_t>(taken_[0]);
  }
  std::uint16_t two() {
    if (!take(2)) return 0;
    return static_cast<std::uint16_t>((static_cast<std::uint8_t>(taken_[0]) << 8U) |
                                      static_cast<std::uint8_t>(taken_[1]));
  }
  std::uint32_t four() {
    const std::uint32_t high = two();
    return (high << 16U) | two();
  }
  std::uint32_t variable() {
    std::uint32_t value = 0;
    for (unsigned shift = 0; shift < 28; shift += 7) {
      const auto digit = byte();
      value |= static_cast<std::uint32_t>(digit & 0x7FU) << shift;
      if ((digit & 0x80U) == 0) return value;
    }
    failed_ = true;  // a fifth continuation byte
    return 0;
  }
  std::string_view text() {
    const auto size = two();
    if (!take(size)) return {};
    return taken_;
  }
  std::string_view bytes(std::size_t size) {
    if (!take(size)) return {};
    return taken_;
  }

 private:
  bool take(std::size_t size) {
    if (failed_ || rest_.size() < size) {
      failed_ = true;
      taken_ = {};
      return false;
    }
    taken_ = rest_.substr(0, size);
    rest_.remove_prefix(size);
    return true;
  }

  std::string_view rest_;
  std::string_view taken_;
  bool failed_ = false;
};

// The properties of a packet, read one at a time.
struct property {
  std::uint8_t id = 0;
  std::uint32_t number = 0;  // byte, two_bytes, four_bytes, variable_integer
  std::string_view text;     // text, binary (the first string of a pair)
};

class property_reader {
 public:
  // Reads the property length from `reader` and takes that many bytes.
  explicit property_reader(body_reader& reader) : props_(reader.bytes(reader.variable())) {}

  // The next property; false at the end. Sets failed() on a malformed one.
  bool next(property& p) {
    if (props_.empty() || props_.failed()) return false;
    p = property{};
    p.id = props_.byte();
    switch (kind_of(p.id)) {
      case value_kind::none: fail(); return false;
      case value_kind::byte: p.number = props_.byte(); break;
      case value_kind::two_bytes: p.number = props_.two(); break;
      case value_kind::four_bytes: p.number = props_.four(); break;
      case value_kind::variable_integer: p.number = props_.variable(); break;
      case value_kind::text:
      case value_kind::binary: p.text = props_.text(); break;
      case value_kind::text_pair:
        p.text = props_.text();
        props_.text();
        break;
    }
    return !props_.failed();
  }
  [[nodiscard]] bool failed() const noexcept { return props_.failed() || failed_; }

 private:
  void fail() { failed_ = true; }

  body_reader props_;
  bool failed_ = false;
};

decode_result complete(packet value) {
  decode_result result;
  result.status = decode_status::complete;
  result.value = std::move(value);
  return result;
}

decode_result malformed(std::string_view why) {
  decode_result result;
  result.status = decode_status::malformed;
  result.error = why;
  return result;
}

decode_result decode_connack(body_reader body) {
  connack ack;
  const auto flags = body.byte();
  if ((flags & 0xFEU) != 0) return malformed("CONNACK flags");
  ack.session_present = (flags & 1U) != 0;
  ack.reason_code = body.byte();
  if (!body.empty()) {
    property_reader props{body};
    property p;
    while (props.next(p)) {
      switch (p.id) {
        case server_keep_alive: ack.server_keep_alive = static_cast<std::uint16_t>(p.number); break;
        case receive_maximum: ack.receive_maximum = static_cast<std::uint16_t>(p.number); break;
        case maximum_packet_size: ack.maximum_packet_size = p.number; break;
        case reason_string: ack.reason_string = p.text; break;
        default: break;
      }
    }
    if (props.failed()) return malformed("CONNACK properties");
  }
  if (body.failed() || !body.empty()) return malformed("CONNACK length");
  if (ack.receive_maximum == 0) return malformed("CONNACK receive maximum 0");
  return complete(ack);
}

decode_result decode_publish(std::uint8_t flags, body_reader body) {
  publish message;
  const auto level = (flags >> 1U) & 3U;
  if (level > 1) return malformed("PUBLISH QoS above 1");
  message.level = static_cast<qos>(level);
  message.retain = (flags & 1U) != 0;
  message.duplicate = (flags & 8U) != 0;
  message.topic = body.text();
  if (message.level == qos::at_least_once) {
    message.packet_id = body.two();
    if (message.packet_id == 0) return malformed("PUBLISH packet id 0");
  }
  property_reader props{body};
  property p;
  while (props.next(p)) {
    // We announce no Topic Alias Maximum, so the broker must not use aliases.
    if (p.id == topic_alias) return malformed("PUBLISH topic alias");
  }
  if (props.failed() || body.failed()) return malformed("PUBLISH header");
  if (message.topic.empty()) return malformed("PUBLISH empty topic");
  message.payload = body.rest();
  return complete(message);
}

decode_result decode_puback(body_reader body) {
  puback ack;
  ack.packet_id = body.two();
  if (!body.empty()) ack.reason_code = body.byte();
  if (!body.empty()) {
    property_reader props{body};
    property p;
    while (props.next(p)) {
    }
    if (props.failed()) return malformed("PUBACK properties");
  }
  if (body.failed() || !body.empty()) return malformed("PUBACK length");
  return complete(ack);
}

decode_result decode_suback(body_reader body) {
  suback ack;
  ack.packet_id = body.two();
  property_reader props{body};
  property p;
  while (props.next(p)) {
  }
  if (props.failed() || body.failed() || body.empty()) return malformed("SUBACK");
  const auto codes = body.rest();
  ack.reason_codes.assign(codes.begin(), codes.end());
  return complete(std::move(ack));
}

decode_result decode_disconnect(body_reader body) {
  disconnect notice;
  if (!body.empty()) notice.reason_code = body.byte();
  if (!body.empty()) {
    property_reader props{body};
    property p;
    while (props.next(p)) {
      if (p.id == reason_string) notice.reason_string = p.text;
    }
    if (props.failed()) return malformed("DISCONNECT properties");
  }
  if (body.failed() || !body.empty()) return malformed("DISCONNECT length");
  return complete(notice);
}

}  // namespace

void encode_connect(std::string& out, const connect_request& request) {
  std::string body;
  put_text(body, "MQTT");
  put_byte(body, 5);  // protocol version
  std::uint8_t flags = request.clean_start ? 0x02U : 0x00U;
  if (!request.username.empty()) flags |= 0x80U;
  if (!request.password.empty()) flags |= 0x40U;
  put_byte(body, flags);
  put_two(body, request.keepalive_seconds);
  std::string props;
  if (request.session_expiry_seconds > 0) {
    put_byte(props, session_expiry_interval);
    put_four(props, request.session_expiry_seconds);
  }
  if (request.receive_maximum > 0) {
    put_byte(props, receive_maximum);
    put_two(props, request.receive_maximum);
  }
  if (request.maximum_packet_size > 0) {
    put_byte(props, maximum_packet_size);
    put_four(props, request.maximum_packet_size);
  }
  put_variable(body, props.size());
  body += props;
  put_text(body, request.client_id);
  if (!request.username.empty()) put_text(body, request.username);
  if (!request.password.empty()) put_text(body, request.password);
  put_packet(out, connect_type << 4U, body);
}

void encode_subscribe(std::string& out, std::uint16_t packet_id, std::span<const subscription> filters) {
  std::string body;
  put_two(body, packet_id);
  put_variable(body, 0);  // no properties
  for (const auto& entry : filters) {
    put_text(body, entry.filter);
    put_byte(body, static_cast<std::uint8_t>(entry.max_qos));  // retain handling 0: send retained
  }
  put_packet(out, (subscribe_type << 4U) | 0x02U, body);
}

void encode_publish(std::string& out, std::string_view topic, std::string_view payload, qos level, bool retain,
                    std::uint16_t packet_id) {
  const bool acknowledged = level == qos::at_least_once;
  const std::size_t body_size = 2 + topic.size() + (acknowledged ? 2 : 0) + 1 + payload.size();
  auto first = static_cast<std::uint8_t>((publish_type << 4U) | (static_cast<std::uint8_t>(level) << 1U));
  if (retain) first |= 1U;
  out.reserve(out.size() + 5 + body_size);
  put_byte(out, first);
  put_variable(out, body_size);
  put_text(out, topic);
  if (acknowledged) put_two(out, packet_id);
  put_variable(out, 0);  // no properties
  out.append(payload);
}

void encode_puback(std::string& out, std::uint16_t packet_id) {
  // Reason code 0 and no properties may be left out: the shortest form.
  put_byte(out, puback_type << 4U);
  put_byte(out, 2);
  put_two(out, packet_id);
}

void encode_pingreq(std::string& out) {
  put_byte(out, pingreq_type << 4U);
  put_byte(out, 0);
}

void encode_disconnect(std::string& out, std::uint8_t reason_code) {
  put_byte(out, disconnect_type << 4U);
  if (reason_code == 0) {
    put_byte(out, 0);
  } else {
    put_byte(out, 1);
    put_byte(out, reason_code);
  }
}

decode_result decode(std::string_view bytes, std::size_t max_packet_size) {
  if (bytes.size() < 2) return {};
  // The remaining length: one to four bytes after the first.
  std::size_t remaining = 0;
  std::size_t header = 1;
  for (unsigned shift = 0;; shift += 7) {
    if (header == bytes.size()) return {};  // need_more
    if (header == 5) return malformed("remaining length over four bytes");
    const auto digit = static_cast<std::uint8_t>(bytes[header++]);
    remaining |= static_cast<std::size_t>(digit & 0x7FU) << shift;
    if ((digit & 0x80U) == 0) break;
  }
  if (remaining > max_variable_integer) return malformed("remaining length");
  decode_result result;
  result.size = header + remaining;
  if (result.size > max_packet_size) {
    result.status = decode_status::too_large;
    return result;
  }
  if (bytes.size() < result.size) return {};  // need_more

  const auto first = static_cast<std::uint8_t>(bytes[0]);
  const auto type = static_cast<std::uint8_t>(first >> 4U);
  const auto flags = static_cast<std::uint8_t>(first & 0x0FU);
  const body_reader body{bytes.substr(header, remaining)};
  decode_result decoded;
  switch (type) {
    case connack_type: decoded = flags == 0 ? decode_connack(body) : malformed("CONNACK flags"); break;
    case publish_type: decoded = decode_publish(flags, body); break;
    case puback_type: decoded = flags == 0 ? decode_puback(body) : malformed("PUBACK flags"); break;
    case suback_type: decoded = flags == 0 ? decode_suback(body) : malformed("SUBACK flags"); break;
    case pingresp_type:
      decoded = flags == 0 && remaining == 0 ? complete(pingresp{}) : malformed("PINGRESP");
      break;
    case disconnect_type: decoded = flags == 0 ? decode_disconnect(body) : malformed("DISCONNECT flags"); break;
    default: return malformed("a packet type a broker does not send a subscriber");
  }
  if (decoded.status != decode_status::complete) return decoded;
  decoded.size = result.size;
  return decoded;
}

}  // namespace progress::bridge::mqtt
