#pragma once
// One HTTP request on a fresh loopback connection, for tests of the bridge's
// REST endpoints.

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "client_socket.hpp"

namespace progress::test {

struct http_reply {
  unsigned status = 0;  // 0: no answer
  std::string body;
  http::response<http::string_body> raw;
  [[nodiscard]] nlohmann::json body_json() const { return nlohmann::json::parse(body, nullptr, false); }
};

using header_list = std::vector<std::pair<std::string, std::string>>;

// Sends `method target` to 127.0.0.1:port (with `Authorization: Bearer token`
// unless the token is empty) and reads the answer; at most 10 s. With a
// `source` address the request comes from there (open_client_socket).
http_reply send_request(unsigned short port, http::verb method, const std::string& target,
                        const std::string& token = {}, const header_list& headers = {},
                        const std::string& source = {});

inline http_reply http_get(unsigned short port, const std::string& target, const std::string& token = {}) {
  return send_request(port, http::verb::get, target, token);
}

}  // namespace progress::test
