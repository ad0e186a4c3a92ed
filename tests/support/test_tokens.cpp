#include "test_tokens.hpp"

#include <cstdint>

#include <nlohmann/json.hpp>

#include "bridge_process.hpp"
#include "token_issuer.hpp"

namespace progress::test {

using namespace std::chrono_literals;

std::string token_for(const std::string& user, bool admin, std::chrono::seconds ttl) {
  return bridge::mint_token(bridge_process::jwt_secret, user, admin, ttl);
}

std::string expired_token_for(const std::string& user) {
  return bridge::mint_token(bridge_process::jwt_secret, user, false, 60s,
                            std::chrono::system_clock::now() - 2h);
}

std::string forged_token_for(const std::string& user) {
  return bridge::mint_token("another-secret-0123456789-abcdefghijklmn", user, false, 1h);
}

std::string unsigned_token_for(const std::string& user) {
  const auto exp = std::chrono::duration_cast<std::chrono::seconds>(
                       (std::chrono::system_clock::now() + 1h).time_since_epoch())
                       .count();
  return base64url(R"({"alg":"none","typ":"JWT"})") + "." +
         base64url(nlohmann::json{{"sub", user}, {"exp", exp}}.dump()) + ".";
}

std::string base64url(std::string_view in) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (const unsigned char c : in) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += alphabet[(bits >> count) & 0x3F];
    }
  }
  if (count > 0) out += alphabet[(bits << (6 - count)) & 0x3F];
  return out;
}

}  // namespace progress::test
