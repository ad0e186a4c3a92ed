#include "mqtt_codec.hpp"

#include <string>

#include <gtest/gtest.h>

#include "mqtt_connection.hpp"
#include "mqtt_reason.hpp"

namespace progress::bridge {
namespace {

using namespace std::string_literals;

constexpr std::size_t no_limit = 1 << 20;

// One packet as a broker would send it: first byte, remaining length, body.
std::string packet(std::uint8_t first, const std::string& body) {
  std::string out(1, static_cast<char>(first));
  std::size_t n = body.size();
  do {
    auto digit = static_cast<unsigned char>(n % 128);
    n /= 128;
    if (n > 0) digit |= 0x80U;
    out += static_cast<char>(digit);
  } while (n > 0);
  return out + body;
}

template <typename Packet>
Packet decoded_as(const std::string& bytes) {
  const auto result = mqtt::decode(bytes, no_limit);
  EXPECT_EQ(result.status, mqtt::decode_status::complete) << result.error;
  EXPECT_EQ(result.size, bytes.size());
  const auto* value = std::get_if<Packet>(&result.value);
  EXPECT_NE(value, nullptr);
  return value ? *value : Packet{};
}

TEST(MqttCodec, EncodesAConnectWithCredentialsAndProperties) {
  std::string out;
  mqtt::encode_connect(out, {.client_id = "bridge-1",
                             .username = "bridge",
                             .password = "s3cret",
                             .keepalive_seconds = 10,
                             .clean_start = true,
                             .receive_maximum = 1000,
                             .maximum_packet_size = 131072});
  const std::string body = "\x00\x04MQTT\x05\xC2\x00\x0A"s  // name, v5, flags: user, password, clean; keepalive
                           "\x08\x21\x03\xE8\x27\x00\x02\x00\x00"s  // properties
                           "\x00\x08"s "bridge-1" "\x00\x06"s "bridge" "\x00\x06"s "s3cret";
  EXPECT_EQ(out, packet(0x10, body));
}

TEST(MqttCodec, EncodesSubscribePublishAckPingAndDisconnect) {
  std::string out;
  const mqtt::subscription filters[] = {{"users/+/jobs/+", mqtt::qos::at_least_once}, {"a/b", mqtt::qos::at_most_once}};
  mqtt::encode_subscribe(out, 7, filters);
  EXPECT_EQ(out, packet(0x82, "\x00\x07\x00\x00\x0Eusers/+/jobs/+\x01\x00\x03" "a/b\x00"s));
  out.clear();
  mqtt::encode_publish(out, "t/1", "{}", mqtt::qos::at_least_once, true, 258);
  EXPECT_EQ(out, packet(0x33, "\x00\x03t/1\x01\x02\x00{}"s));
  out.clear();
  mqtt::encode_publish(out, "t/1", "", mqtt::qos::at_most_once, false, 99);
  EXPECT_EQ(out, packet(0x30, "\x00\x03t/1\x00"s)) << "QoS 0 carries no packet id";
  out.clear();
  mqtt::encode_puback(out, 0x1234);
  mqtt::encode_pingreq(out);
  mqtt::encode_disconnect(out);
  mqtt::encode_disconnect(out, 0x8B);
  EXPECT_EQ(out, "\x40\x02\x12\x34\xC0\x00\xE0\x00\xE0\x01\x8B"s);
}

TEST(MqttCodec, DecodesConnackWithTheBrokersLimits) {
  // Views point into the bytes: keep them.
  const auto bytes = packet(0x20, "\x01\x00\x12\x21\x00\x14\x13\x00\x05\x1F\x00\x04" "fine\x27\x00\x01\x00\x00"s);
  const auto ack = decoded_as<mqtt::connack>(bytes);
  EXPECT_TRUE(ack.session_present);
  EXPECT_EQ(ack.reason_code, 0);
  EXPECT_EQ(ack.receive_maximum, 20);
  EXPECT_EQ(ack.server_keep_alive, 5);
  EXPECT_EQ(ack.reason_string, "fine");
  EXPECT_EQ(ack.maximum_packet_size, 65536u);
  const auto refused = decoded_as<mqtt::connack>(packet(0x20, "\x00\x87\x00"s));
  EXPECT_EQ(refused.reason_code, 0x87);
}

TEST(MqttCodec, DecodesPublishesOfBothLevels) {
  const auto first = packet(0x33, "\x00\x03t/1\x01\x02\x02\x01\x00{\"a\":1}"s);
  const auto at_least_once = decoded_as<mqtt::publish>(first);
  EXPECT_EQ(at_least_once.topic, "t/1");
  EXPECT_EQ(at_least_once.payload, "{\"a\":1}");
  EXPECT_EQ(at_least_once.level, mqtt::qos::at_least_once);
  EXPECT_EQ(at_least_once.packet_id, 258);
  EXPECT_TRUE(at_least_once.retain);
  const auto second = packet(0x30, "\x00\x03t/2\x00"s);
  const auto removal = decoded_as<mqtt::publish>(second);
  EXPECT_EQ(removal.topic, "t/2");
  EXPECT_TRUE(removal.payload.empty()) << "an empty payload removes a retained message";
  EXPECT_FALSE(removal.retain);
}

TEST(MqttCodec, DecodesAcksPingAndDisconnect) {
  EXPECT_EQ(decoded_as<mqtt::suback>(packet(0x90, "\x00\x07\x00\x01\x87"s)).reason_codes,
            (std::vector<std::uint8_t>{0x01, 0x87}));
  const auto short_ack = decoded_as<mqtt::puback>(packet(0x40, "\x00\x09"s));
  EXPECT_EQ(short_ack.packet_id, 9);
  EXPECT_EQ(short_ack.reason_code, 0);
  EXPECT_EQ(decoded_as<mqtt::puback>(packet(0x40, "\x00\x09\x87"s)).reason_code, 0x87);
  decoded_as<mqtt::pingresp>(packet(0xD0, ""));
  const auto goodbye = packet(0xE0, "\x8B\x07\x1F\x00\x04" "busy"s);
  const auto bye = decoded_as<mqtt::disconnect>(goodbye);
  EXPECT_EQ(bye.reason_code, 0x8B);
  EXPECT_EQ(bye.reason_string, "busy");
  EXPECT_EQ(decoded_as<mqtt::disconnect>(packet(0xE0, "")).reason_code, 0);
}

TEST(MqttCodec, WaitsForTheRestOfAPacket) {
  const auto whole = packet(0x30, "\x00\x03t/1" "\x00"s + std::string(300, 'x'));
  for (std::size_t cut = 0; cut < whole.size(); ++cut) {
    EXPECT_EQ(mqtt::decode(whole.substr(0, cut), no_limit).status, mqtt::decode_status::need_more) << cut;
  }
  const auto two = whole + packet(0xD0, "");
  const auto first = mqtt::decode(two, no_limit);
  ASSERT_EQ(first.status, mqtt::decode_status::complete);
  EXPECT_EQ(first.size, whole.size());
}

TEST(MqttCodec, RefusesAPacketOverTheLimitFromItsHeader) {
  const auto header_only = packet(0x30, std::string(70'000, 'x')).substr(0, 4);
  const auto result = mqtt::decode(header_only, 65'536);
  EXPECT_EQ(result.status, mqtt::decode_status::too_large);
  EXPECT_EQ(result.size, 70'004u);
}

TEST(MqttCodec, RefusesWhatABrokerMustNotSendUs) {
  const std::string malformed[] = {
      "\x30\xFF\xFF\xFF\xFF\x01"s,                       // a five-byte remaining length
      packet(0x35, "\x00\x01t\x00\x01\x00"s),            // QoS 2
      packet(0x37, "\x00\x01t\x00\x01\x00"s),            // QoS 3
      packet(0x32, "\x00\x01t\x00\x00\x00"s),            // QoS 1 with packet id 0
      packet(0x30, "\x00\x01t\x03\x23\x00\x01"s),        // a topic alias we never allowed
      packet(0x30, "\x00\x00\x00"s),                     // an empty topic
      packet(0x30, "\x00\x05t\x00"s),                    // a topic longer than the packet
      packet(0x30, "\x00\x01t\x02\x7F\x00"s),            // an unknown property
      packet(0x30, "\x00\x01t\x05\x26\x00\x01k"s),       // a property cut short
      packet(0x20, "\x02\x00\x00"s),                     // CONNACK flags
      packet(0x20, "\x00\x00\x03\x21\x00\x00"s),         // receive maximum 0
      packet(0x90, "\x00\x01\x00"s),                     // SUBACK without reason codes
      packet(0xD0, "x"),                                 // PINGRESP with a body
      packet(0x10, "\x00"s),                             // CONNECT: a client's packet
      packet(0x50, "\x00\x01"s),                         // PUBREC: QoS 2, never subscribed
      packet(0xF0, ""),                                  // AUTH
  };
  for (const auto& bytes : malformed) {
    const auto result = mqtt::decode(bytes, no_limit);
    EXPECT_EQ(result.status, mqtt::decode_status::malformed) << testing::PrintToString(bytes);
    EXPECT_FALSE(result.error.empty());
  }
}

TEST(MqttEndpoint, ParsesTheUrlsTheBridgeTakes) {
  const auto plain = mqtt_endpoint::parse("tcp://127.0.0.1:1884");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, 1884);
  EXPECT_FALSE(plain->tls);
  const auto tls = mqtt_endpoint::parse("mqtts://broker.example.com");
  ASSERT_TRUE(tls);
  EXPECT_EQ(tls->port, 8883);
  EXPECT_TRUE(tls->tls);
  const auto v6 = mqtt_endpoint::parse("ssl://[::1]:8884");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 8884);
  EXPECT_EQ(mqtt_endpoint::parse("mqtt://localhost")->port, 1883);
  for (const char* bad : {"", "127.0.0.1:1883", "http://h:1", "tcp://", "tcp://h:", "tcp://h:0", "tcp://h:70000",
                          "tcp://h:1x", "tcp://user@h:1", "tcp://[::1", "tcp://[::1]x"}) {
    EXPECT_FALSE(mqtt_endpoint::parse(bad)) << bad;
  }
}

TEST(MqttReason, NamesReasonCodesAndHintsAtTheFlagsToCheck) {
  EXPECT_EQ(mqtt::reason_name(0x87), "not authorized");
  EXPECT_EQ(mqtt::reason_name(0x86), "bad user name or password");
  EXPECT_NE(connack_hint(0x87).find("--mqtt-username"), std::string_view::npos);
  EXPECT_NE(connack_hint(0x86).find("--mqtt-password"), std::string_view::npos);
  EXPECT_EQ(connack_hint(0x97), "quota exceeded");
}

}  // namespace
}  // namespace progress::bridge
