#include "mqtt_reason.hpp"

namespace progress::bridge::mqtt {

std::string_view reason_name(std::uint8_t code) noexcept {
  return mqtt_reason_name(code);
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
