#include "connect_gate.hpp"

#include <utility>

namespace progress::bench {

void connect_gate::enter(std::function<void()> start) {
  if (free_ > 0) {
    --free_;
    start();
    return;
  }
  waiting_.push_back(std::move(start));
}

void connect_gate::release() {
  if (waiting_.empty()) {
    ++free_;
    return;
  }
  auto next = std::move(waiting_.front());
  waiting_.pop_front();
  next();
}

}  // namespace progress::bench
