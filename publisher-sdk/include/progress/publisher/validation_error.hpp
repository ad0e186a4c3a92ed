#pragma once
// Thrown by the SDK before anything is sent when an update breaks protocol v1.

#include <stdexcept>

#include "progress/protocol/validation.hpp"

namespace progress {

class validation_error : public std::invalid_argument {
 public:
  explicit validation_error(rejection reason);

  // The same rejection the bridge would have recorded for this update.
  [[nodiscard]] const rejection& reason() const noexcept { return reason_; }

 private:
  rejection reason_;
};

}  // namespace progress
