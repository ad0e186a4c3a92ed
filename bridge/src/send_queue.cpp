#include "send_queue.hpp"

#include <algorithm>

namespace progress::bridge {

push_result send_queue::push(outgoing_message message) {
  bool conflated = false;
  if (message.event) {
    const auto& key = message.event->key;
    const auto older = std::find_if(queue_.begin(), queue_.end(), [&](const outgoing_message& pending) {
      return pending.event && !pending.event->keep && pending.event->key == key;
    });
    if (older != queue_.end()) {
      queue_.erase(older);
      conflated = true;
    }
  }
  if (queue_.size() >= limit_) return push_result::full;
  queue_.push_back(std::move(message));
  return conflated ? push_result::conflated : push_result::queued;
}

void send_queue::drop_events() {
  std::erase_if(queue_, [](const outgoing_message& pending) { return pending.event != nullptr; });
}

outgoing_message send_queue::pop() {
  outgoing_message front = std::move(queue_.front());
  queue_.pop_front();
  return front;
}

}  // namespace progress::bridge
