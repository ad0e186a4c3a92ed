#pragma once
// Byte sizes in configuration: "1048576", "512k", "64M", "1G", "2T" (powers
// of 1024; "KiB", "MiB", ... and "KB", "MB", ... mean the same).
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

#include "parse_integer.hpp"

namespace progress::bridge {

[[nodiscard]] constexpr std::optional<std::uint64_t> parse_byte_size(std::string_view text) noexcept {
  constexpr std::array<std::pair<char, unsigned>, 4> units{{{'k', 10}, {'m', 20}, {'g', 30}, {'t', 40}}};
  unsigned shift = 0;
  for (const std::string_view tail : {"iB", "B"}) {
    if (text.size() > tail.size() && text.ends_with(tail)) {
      text.remove_suffix(tail.size());
      break;
    }
  }
  if (!text.empty()) {
    const char last = static_cast<char>(text.back() | 0x20);  // ASCII lower case
    for (const auto& [letter, bits] : units) {
      if (last == letter) {
        shift = bits;
        text.remove_suffix(1);
      }
    }
  }
  const auto count = parse_integer<std::uint64_t>(text, 0, std::numeric_limits<std::uint64_t>::max() >> shift);
  if (!count) return std::nullopt;
  return *count << shift;
}

}  // namespace progress::bridge
