#include "progress/publisher/delivery.hpp"

#include <exception>

namespace progress {

delivery delivery::failed(const publish_error& error) {
  std::promise<void> outcome;
  outcome.set_exception(std::make_exception_ptr(error));
  return delivery(outcome.get_future().share());
}

}  // namespace progress
