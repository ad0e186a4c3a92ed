#pragma once
// An optional value kept on the heap: the size of a pointer while empty. For
// a value few objects ever have, in an object held a million times (a stored
// job's cancel request), where std::optional would reserve its whole size in
// every one of them. Copies are deep; reads look like std::optional's.
#include <memory>
#include <optional>
#include <utility>

namespace progress::bridge {

template <class T>
class heap_optional {
 public:
  heap_optional() noexcept = default;
  heap_optional(std::nullopt_t) noexcept {}  // NOLINT(google-explicit-constructor): as std::optional
  heap_optional(T value)
      : value_(std::make_unique<T>(std::move(value))) {}  // NOLINT(google-explicit-constructor)
  heap_optional(const heap_optional& other) : value_(other ? std::make_unique<T>(*other) : nullptr) {}
  heap_optional(heap_optional&&) noexcept = default;
  heap_optional& operator=(heap_optional other) noexcept {
    value_ = std::move(other.value_);
    return *this;
  }
  ~heap_optional() = default;

  [[nodiscard]] bool has_value() const noexcept { return value_ != nullptr; }
  explicit operator bool() const noexcept { return has_value(); }
  const T& operator*() const noexcept { return *value_; }
  const T* operator->() const noexcept { return value_.get(); }
  void reset() noexcept { value_.reset(); }

  friend bool operator==(const heap_optional& a, const heap_optional& b) { return a ? (b && *a == *b) : !b; }

 private:
  std::unique_ptr<T> value_;
};

}  // namespace progress::bridge
