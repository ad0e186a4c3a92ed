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
      erase_pending(older);
      conflated = true;
    }
  }
  if (size() >= limits_.messages) return push_result::full;
  if (!message.starts_view && budgeted_bytes() + message.bytes() > limits_.bytes)
    return push_result::over_budget;
  add_pending(message);
  if (message.starts_view) {
    // The first view goes ahead of the own messages that waited for it, which may then leave.
    const auto waiting = std::find_if(items_.begin() + static_cast<std::ptrdiff_t>(head_), items_.end(),
                                      [](const outgoing_message& pending) { return pending.waits_for_view; });
    if (waiting != items_.end()) {
      for (auto it = waiting; it != items_.end(); ++it) it->waits_for_view = false;
      items_.insert(waiting, std::move(message));
      return push_result::queued;
    }
  }
  items_.push_back(std::move(message));
  return conflated ? push_result::conflated : push_result::queued;
}

void send_queue::push_final(outgoing_message message) {
  add_pending(message);
  items_.push_back(std::move(message));
}

void send_queue::drop_superseded() {
  compact();
  const auto superseded = [](const outgoing_message& pending) {
    return pending.event != nullptr || pending.starts_view;
  };
  for (const auto& pending : items_) {
    if (superseded(pending)) forget(pending);
  }
  std::erase_if(items_, superseded);
}

void send_queue::clear() {
  for (auto it = items_.begin() + static_cast<std::ptrdiff_t>(head_); it != items_.end(); ++it) {
    if (it->starts_view) view_bytes_ -= it->bytes();
  }
  items_.clear();
  head_ = 0;
  pending_bytes_ = 0;
  if (items_.capacity() > kept_capacity) std::vector<outgoing_message>{}.swap(items_);
}

std::span<const outgoing_message> send_queue::start_batch(std::size_t max) {
  const std::size_t count = std::min(size(), std::max<std::size_t>(max, 1));
  batch_.clear();
  for (std::size_t i = 0; i < count && !items_[head_].waits_for_view; ++i) {
    const std::size_t moved = items_[head_].bytes();
    pending_bytes_ -= moved;
    batch_bytes_ += moved;
    batch_.push_back(std::move(items_[head_++]));
  }
  if (head_ == items_.size()) {
    clear();
  } else if (head_ >= 64 && head_ * 2 >= items_.size()) {
    compact();
  }
  return batch_;
}

void send_queue::end_batch() {
  bool had_change = false;
  for (const auto& written : batch_) {
    if (written.starts_view) view_bytes_ -= written.bytes();
    had_change = had_change || written.event != nullptr;
  }
  batch_.clear();
  batch_bytes_ = 0;
  if (batch_.capacity() > kept_capacity) std::vector<outgoing_message>{}.swap(batch_);
  // Capacity is kept for streams that get job changes; one that drained after
  // only a snapshot or its own messages (most streams: a snapshot, then quiet) holds none.
  if (!had_change && empty()) {
    std::vector<outgoing_message>{}.swap(batch_);
    std::vector<outgoing_message>{}.swap(items_);
    head_ = 0;
  }
}

void send_queue::add_pending(const outgoing_message& message) {
  pending_bytes_ += message.bytes();
  if (message.starts_view) view_bytes_ += message.bytes();
}

void send_queue::forget(const outgoing_message& message) {
  pending_bytes_ -= message.bytes();
  if (message.starts_view) view_bytes_ -= message.bytes();
}

void send_queue::erase_pending(std::vector<outgoing_message>::iterator at) {
  forget(*at);
  items_.erase(at);
}

void send_queue::compact() {
  items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
  head_ = 0;
}

}  // namespace progress::bridge
