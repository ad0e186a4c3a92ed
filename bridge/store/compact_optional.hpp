#pragma once
// An optional value in the space of the value alone: one the field can never
// hold stands for "none" (a negative count or time, NaN, an empty id). For the
// facts of a stored job, held a million times, where std::optional would add
// 8 bytes to every field. Reads look like std::optional's.
//
// Only values a validated job state can carry are kept: a negative number, NaN
// or an empty string is refused (std::invalid_argument), never taken for "none".
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace progress::bridge {

template <class T>
struct compact_none;  // none(): the value that means "none"; holds(v): v is not it

template <>
struct compact_none<std::int64_t> {
  static constexpr std::int64_t none() noexcept { return -1; }
  static constexpr bool holds(std::int64_t value) noexcept { return value >= 0; }
};

template <>
struct compact_none<double> {
  static constexpr double none() noexcept { return std::numeric_limits<double>::quiet_NaN(); }
  static bool holds(double value) noexcept { return !std::isnan(value); }
};

template <>
struct compact_none<std::string> {
  static std::string none() { return {}; }
  static bool holds(const std::string& value) noexcept { return !value.empty(); }
};

template <class T>
class compact_optional {
  using traits = compact_none<T>;

 public:
  compact_optional() noexcept(std::is_nothrow_default_constructible_v<T>) : value_(traits::none()) {}
  compact_optional(std::nullopt_t)
      : compact_optional() {}  // NOLINT(google-explicit-constructor): as std::optional
  compact_optional(T value) : value_(checked(std::move(value))) {}  // NOLINT(google-explicit-constructor)
  compact_optional(std::optional<T> value)                          // NOLINT(google-explicit-constructor)
      : value_(value ? checked(std::move(*value)) : traits::none()) {}

  [[nodiscard]] bool has_value() const noexcept { return traits::holds(value_); }
  explicit operator bool() const noexcept { return has_value(); }
  const T& operator*() const noexcept { return value_; }
  const T* operator->() const noexcept { return &value_; }
  [[nodiscard]] T value_or(T fallback) const { return has_value() ? value_ : fallback; }
  void reset() { value_ = traits::none(); }

  operator std::optional<T>() const {  // NOLINT(google-explicit-constructor): as the field once was
    return has_value() ? std::optional<T>{value_} : std::nullopt;
  }

  friend bool operator==(const compact_optional& a, const compact_optional& b) {
    return a.has_value() ? b.has_value() && a.value_ == b.value_ : !b.has_value();
  }
  friend bool operator==(const compact_optional& a, const T& b) { return a.has_value() && a.value_ == b; }

 private:
  static T checked(T value) {
    if (!traits::holds(value)) throw std::invalid_argument("compact_optional: a value that means none");
    return value;
  }

  T value_;
};

}  // namespace progress::bridge
