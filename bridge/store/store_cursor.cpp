#include "store_cursor.hpp"

#include <limits>

#include "parse_integer.hpp"

namespace progress::bridge {

std::string store_cursor::to_string() const {
  std::string text = std::to_string(epoch);
  text += '.';
  text += std::to_string(revision);
  return text;
}

std::optional<store_cursor> store_cursor::parse(std::string_view text) noexcept {
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  const auto dot = text.find('.');
  if (dot == std::string_view::npos || text.size() > max_length) return std::nullopt;
  const auto epoch = parse_integer<std::uint64_t>(text.substr(0, dot), 0, max);
  const auto revision = parse_integer<std::uint64_t>(text.substr(dot + 1), 0, max);
  if (!epoch || !revision) return std::nullopt;
  return store_cursor{*epoch, *revision};
}

}  // namespace progress::bridge
