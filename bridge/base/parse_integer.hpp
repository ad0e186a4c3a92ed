#pragma once
// The one integer parser of the bridge: query parameters, cursors, ports and
// durations all read untrusted text through it.
#include <charconv>
#include <concepts>
#include <optional>
#include <string_view>

namespace progress::bridge {

// A decimal integer in [min, max] and nothing else: no sign, no spaces, no
// suffix, no empty text. Nothing when the text is anything else or out of range.
template <std::integral Int>
[[nodiscard]] constexpr std::optional<Int> parse_integer(std::string_view text, Int min, Int max) noexcept {
  // from_chars takes a '-' for signed types; only plain digits are accepted here.
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  Int value{};
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || value < min || value > max) return std::nullopt;
  return value;
}

}  // namespace progress::bridge
