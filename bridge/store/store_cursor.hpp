#pragma once
// The one cursor format of the bridge, "<epoch>.<revision>": a point in one
// job store's sequence of changes. REST pages continue below it; live streams
// resume after it. Revisions only mean something within the store instance
// that issued them, so a cursor carries that store's epoch (job_store::epoch).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace progress::bridge {

struct store_cursor {
  // No cursor is longer: two 20-digit numbers and the dot.
  static constexpr std::size_t max_length = 41;

  std::uint64_t epoch = 0;
  std::uint64_t revision = 0;

  [[nodiscard]] std::string to_string() const;

  // Nothing when `text` is not a cursor in this format.
  [[nodiscard]] static std::optional<store_cursor> parse(std::string_view text) noexcept;

  friend bool operator==(const store_cursor&, const store_cursor&) = default;
};

}  // namespace progress::bridge
