#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace progress::bench {

// The few MQTT 3.1.1 packets a watching browser needs (CONNECT, SUBSCRIBE, PUBACK out;
// CONNACK, SUBACK, PUBLISH in), for the load generator's MQTT-over-WebSocket clients.
class mqtt_codec {
 public:
  struct packet {
    std::uint8_t type = 0;  // upper nibble of the fixed header
    std::uint8_t flags = 0;
    std::string_view body;  // valid until the next feed()
  };
  struct publish {
    std::string_view topic;
    std::string_view payload;
    std::uint16_t packet_id = 0;
    int qos = 0;
    bool retain = false;
  };

  static constexpr std::uint8_t connack = 2, publish_type = 3, suback = 9;

  static std::string connect(std::string_view client_id, std::string_view username, std::string_view password,
                             std::uint16_t keep_alive_seconds);
  static std::string subscribe(std::uint16_t packet_id, std::string_view topic_filter, int qos);
  static std::string puback(std::uint16_t packet_id);
  static std::optional<publish> parse_publish(const packet& p);

  // Appends received bytes (WebSocket frames need not align with packets).
  void feed(std::string_view bytes);
  // The next complete packet, or nullopt when more bytes are needed. Throws on a
  // malformed length.
  std::optional<packet> next();

 private:
  std::string buffer_;
  std::size_t consumed_ = 0;
};

}  // namespace progress::bench
