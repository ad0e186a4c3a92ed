#pragma once
// Names shared by the HTTP layer: one request and one response type for the
// whole bridge, so handlers, the session and tests agree on them.
#include <chrono>
#include <string>

#include "asio.hpp"

namespace progress::bridge {

using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

// What the transport knows about a request besides its bytes.
struct request_info {
  std::string remote_address;  // client IP as text, used as the rate-limit key
  std::chrono::steady_clock::time_point received_at;
};

}  // namespace progress::bridge
