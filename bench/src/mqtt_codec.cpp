#include "mqtt_codec.hpp"

#include <stdexcept>

namespace progress::bench {

namespace {

void put_u16(std::string& out, std::size_t value) {
  out.push_back(static_cast<char>((value >> 8) & 0xff));
  out.push_back(static_cast<char>(value & 0xff));
}

void put_string(std::string& out, std::string_view text) {
  put_u16(out, text.size());
  out.append(text);
}

std::string with_fixed_header(std::uint8_t first_byte, const std::string& body) {
  std::string out;
  out.push_back(static_cast<char>(first_byte));
  std::size_t length = body.size();
  do {
    auto digit = static_cast<std::uint8_t>(length % 128);
    length /= 128;
    if (length > 0) digit |= 0x80;
    out.push_back(static_cast<char>(digit));
  } while (length > 0);
  out += body;
  return out;
}

std::uint16_t get_u16(std::string_view bytes, std::size_t at) {
  return static_cast<std::uint16_t>((static_cast<std::uint8_t>(bytes[at]) << 8) |
                                    static_cast<std::uint8_t>(bytes[at + 1]));
}

}  // namespace

std::string mqtt_codec::connect(std::string_view client_id, std::string_view username,
                                std::string_view password, std::uint16_t keep_alive_seconds) {
  std::string body;
  put_string(body, "MQTT");
  body.push_back(4);                                      // protocol level 3.1.1
  body.push_back(static_cast<char>(0x80 | 0x40 | 0x02));  // username, password, clean session
  put_u16(body, keep_alive_seconds);
  put_string(body, client_id);
  put_string(body, username);
  put_string(body, password);
  return with_fixed_header(0x10, body);
}

std::string mqtt_codec::subscribe(std::uint16_t packet_id, std::string_view topic_filter, int qos) {
  std::string body;
  put_u16(body, packet_id);
  put_string(body, topic_filter);
  body.push_back(static_cast<char>(qos));
  return with_fixed_header(0x82, body);
}

std::string mqtt_codec::puback(std::uint16_t packet_id) {
  std::string body;
  put_u16(body, packet_id);
  return with_fixed_header(0x40, body);
}

std::optional<mqtt_codec::publish> mqtt_codec::parse_publish(const packet& p) {
  if (p.type != publish_type || p.body.size() < 2) return std::nullopt;
  publish out;
  out.qos = (p.flags >> 1) & 0x03;
  out.retain = (p.flags & 0x01) != 0;
  const std::size_t topic_length = get_u16(p.body, 0);
  std::size_t at = 2 + topic_length;
  if (at > p.body.size()) return std::nullopt;
  out.topic = p.body.substr(2, topic_length);
  if (out.qos > 0) {
    if (at + 2 > p.body.size()) return std::nullopt;
    out.packet_id = get_u16(p.body, at);
    at += 2;
  }
  out.payload = p.body.substr(at);
  return out;
}

void mqtt_codec::feed(std::string_view bytes) {
  // Drop what earlier packets used before growing, so the buffer stays small.
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes);
}

std::optional<mqtt_codec::packet> mqtt_codec::next() {
  const std::string_view rest = std::string_view(buffer_).substr(consumed_);
  if (rest.size() < 2) return std::nullopt;
  std::size_t length = 0;
  std::size_t multiplier = 1;
  std::size_t at = 1;
  for (;; ++at) {
    if (at >= rest.size()) return std::nullopt;
    if (at > 4) throw std::runtime_error("malformed MQTT remaining length");
    const auto digit = static_cast<std::uint8_t>(rest[at]);
    length += (digit & 0x7f) * multiplier;
    multiplier *= 128;
    if ((digit & 0x80) == 0) break;
  }
  const std::size_t header = at + 1;
  if (rest.size() < header + length) return std::nullopt;
  packet p;
  p.type = static_cast<std::uint8_t>(static_cast<std::uint8_t>(rest[0]) >> 4);
  p.flags = static_cast<std::uint8_t>(rest[0]) & 0x0f;
  p.body = rest.substr(header, length);
  consumed_ += header + length;
  return p;
}

}  // namespace progress::bench
