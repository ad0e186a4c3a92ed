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
  // The client's IP as text: the TCP peer, or the client a trusted proxy
  // named (client_address.hpp). Logged.
  std::string remote_address;
  // What per-client limits (request rate, connections) count the client
  // under: its IPv4 address, or its IPv6 /64 network.
  std::string client_key;
  std::chrono::steady_clock::time_point received_at;
};

}  // namespace progress::bridge
