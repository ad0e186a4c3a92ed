#include "mqtt_reason.hpp"

namespace progress::bridge::mqtt {

std::string_view reason_name(std::uint8_t code) noexcept {
  switch (code) {
    case 0x00: return "success";
    case 0x01: return "granted QoS 1";
    case 0x02: return "granted QoS 2";
    case 0x04: return "disconnect with will message";
    case 0x10: return "no matching subscribers";
    case 0x11: return "no subscription existed";
    case 0x80: return "unspecified error";
    case 0x81: return "malformed packet";
    case 0x82: return "protocol error";
    case 0x83: return "implementation specific error";
    case 0x84: return "unsupported protocol version";
    case 0x85: return "client identifier not valid";
    case 0x86: return "bad user name or password";
    case 0x87: return "not authorized";
    case 0x88: return "server unavailable";
    case 0x89: return "server busy";
    case 0x8A: return "banned";
    case 0x8B: return "server shutting down";
    case 0x8C: return "bad authentication method";
    case 0x8D: return "keep alive timeout";
    case 0x8E: return "session taken over";
    case 0x8F: return "topic filter invalid";
    case 0x90: return "topic name invalid";
    case 0x91: return "packet identifier in use";
    case 0x92: return "packet identifier not found";
    case 0x93: return "receive maximum exceeded";
    case 0x94: return "topic alias invalid";
    case 0x95: return "packet too large";
    case 0x96: return "message rate too high";
    case 0x97: return "quota exceeded";
    case 0x98: return "administrative action";
    case 0x99: return "payload format invalid";
    case 0x9A: return "retain not supported";
    case 0x9B: return "QoS not supported";
    case 0x9C: return "use another server";
    case 0x9D: return "server moved";
    case 0x9E: return "shared subscriptions not supported";
    case 0x9F: return "connection rate exceeded";
    case 0xA0: return "maximum connect time";
    case 0xA1: return "subscription identifiers not supported";
    case 0xA2: return "wildcard subscriptions not supported";
    default: return "unknown reason code";
  }
}

}  // namespace progress::bridge::mqtt

namespace progress::bridge {

std::string_view connack_hint(std::uint8_t code) noexcept {
  switch (code) {
    case 0x84: return "unsupported protocol version: the broker must speak MQTT v5 (Mosquitto 2 or later)";
    case 0x85: return "client identifier not valid: check --mqtt-client-id";
    case 0x86:
      return "bad user name or password: check --mqtt-username and --mqtt-password (or --mqtt-password-file)";
    case 0x87:
      return "not authorized: check --mqtt-username and --mqtt-password, and that the broker's password file "
             "has that account";
    case 0x88:
    case 0x89: return "the broker is unavailable or busy: it will be tried again";
    case 0x8A: return "banned: the broker refuses this account or address";
    case 0x8C: return "bad authentication method";
    case 0x9C:
    case 0x9D: return "the broker points to another server: check --mqtt-url";
    case 0x9F: return "connection rate exceeded: the broker limits how often clients connect";
    default: return mqtt::reason_name(code);
  }
}

}  // namespace progress::bridge
