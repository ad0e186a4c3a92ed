#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace progress::bridge {

// Who a verified token speaks for. Built only by jwt_verifier, so user_id
// always satisfies progress::is_valid_id.
struct principal {
  std::string user_id;
  bool admin = false;
  std::chrono::system_clock::time_point expires_at;

  // The isolation rule the broker ACLs enforce too: a user reads only
  // users/<own id>/#; an admin reads everyone's jobs. An empty user_id
  // (a default-constructed principal) reads nothing.
  [[nodiscard]] bool may_read(std::string_view owner_id) const noexcept {
    return admin || (!user_id.empty() && owner_id == user_id);
  }
};

}  // namespace progress::bridge
