#pragma once
// The header of a WebSocket text frame as a server sends it (RFC 6455 5.2):
// final, unmasked, the payload length in 7, 16 or 64 bits. The session
// builds its data frames with it and writes them itself (write_gate);
// Beast frames everything else.
#include <array>
#include <cstddef>
#include <cstdint>

namespace progress::bridge {

struct frame_header {
  std::array<std::uint8_t, 10> bytes{};
  std::uint8_t size = 0;
};

[[nodiscard]] constexpr frame_header text_frame_header(std::uint64_t payload_size) noexcept {
  frame_header header;
  header.bytes[0] = 0x81;  // FIN, opcode 1 (text)
  if (payload_size < 126) {
    header.bytes[1] = static_cast<std::uint8_t>(payload_size);
    header.size = 2;
  } else if (payload_size <= 0xffff) {
    header.bytes[1] = 126;
    header.bytes[2] = static_cast<std::uint8_t>(payload_size >> 8);
    header.bytes[3] = static_cast<std::uint8_t>(payload_size);
    header.size = 4;
  } else {
    header.bytes[1] = 127;
    for (std::size_t i = 0; i < 8; ++i)
      header.bytes[2 + i] = static_cast<std::uint8_t>(payload_size >> (8 * (7 - i)));
    header.size = 10;
  }
  return header;
}

}  // namespace progress::bridge
