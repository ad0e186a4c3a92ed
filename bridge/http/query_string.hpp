#pragma once
// Query-string parsing for request targets. Everything here reads untrusted
// input: lengths and counts are bounded and malformed escapes are rejected
// instead of guessed at.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace progress::bridge {

// A longer query is rejected outright; no endpoint needs more.
inline constexpr std::size_t max_query_length = 4096;
// More parameters than this are rejected, so a request cannot make us build a huge list.
inline constexpr std::size_t max_query_params = 32;

// Decodes %XX escapes (and '+' as space when `plus_is_space`). Returns nothing
// on a truncated or non-hex escape, or when the result would contain NUL.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

// Splits a request target into its path and its query (without the '?').
[[nodiscard]] std::pair<std::string_view, std::string_view> split_target(std::string_view target) noexcept;

// The decoded name=value pairs of a query string, in order.
class query_params {
 public:
  query_params() = default;

  // Nothing when the query is over the limits or contains a malformed escape.
  [[nodiscard]] static std::optional<query_params> parse(std::string_view query);

  // The first value given for `name`; a bare "name" has an empty value.
  [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  [[nodiscard]] bool empty() const noexcept { return items_.empty(); }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

}  // namespace progress::bridge
