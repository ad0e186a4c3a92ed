#pragma once

#include <chrono>
#include <string>

namespace progress::bridge {

// Who a verified token speaks for. Built only by jwt_verifier, so user_id
// always satisfies progress::is_valid_id. What a principal may read is
// access_policy's to decide.
struct principal {
  std::string user_id;
  bool admin = false;
  std::chrono::system_clock::time_point expires_at;
};

}  // namespace progress::bridge
