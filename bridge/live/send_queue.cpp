#include "send_queue.hpp"

#include <algorithm>

namespace progress::bridge {

push_result send_queue::push(outgoing_message message, bool conflate) {
  bool conflated = false;
  if (conflate && message.event) {
    const auto& key = message.event->key;
    const auto older =
        std::find_if(items_.begin() + static_cast<std::ptrdiff_t>(head_), items_.end(),
                     [&](const outgoing_message& pending) {
                       return pending.event && !pending.event->keep && pending.event->key == key;
                     });
    if (older != items_.end()) {
      items_.erase(older);
      conflated = true;
    }
  }
  if (size() >= limit_) return push_result::full;
  items_.push_back(std::move(message));
  return conflated ? push_result::conflated : push_result::queued;
}

void send_queue::drop_events() {
  items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
  head_ = 0;
  std::erase_if(items_, [](const outgoing_message& pending) { return pending.event != nullptr; });
}

void send_queue::clear() {
  items_.clear();
  head_ = 0;
  if (items_.capacity() > kept_capacity) std::vector<outgoing_message>{}.swap(items_);
}

outgoing_message send_queue::pop() {
  outgoing_message front = std::move(items_[head_++]);
  if (head_ == items_.size()) {
    clear();
  } else if (head_ >= 64 && head_ * 2 >= items_.size()) {
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  return front;
}

}  // namespace progress::bridge
