#include "progress/publisher/validation_error.hpp"

#include <string>

namespace progress {
namespace {

std::string describe(const rejection& reason) {
  std::string text = "invalid update (";
  text += to_string(reason.reason);
  text += "): ";
  text += reason.message;
  return text;
}

}  // namespace

validation_error::validation_error(rejection reason)
    : std::invalid_argument(describe(reason)), reason_(std::move(reason)) {}

}  // namespace progress
