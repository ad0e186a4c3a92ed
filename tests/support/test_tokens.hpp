#pragma once
// Bearer tokens for tests of the bridge: valid ones signed with
// bridge_process::jwt_secret, and the kinds the bridge must refuse.

#include <chrono>
#include <string>
#include <string_view>

namespace progress::test {

// A token for `user` signed with bridge_process::jwt_secret, valid for `ttl`.
[[nodiscard]] std::string token_for(const std::string& user, bool admin = false,
                                    std::chrono::seconds ttl = std::chrono::hours{1});
// Signed correctly but expired two hours ago, far beyond any clock-skew leeway.
[[nodiscard]] std::string expired_token_for(const std::string& user);
// Signed with another secret.
[[nodiscard]] std::string forged_token_for(const std::string& user);
// `alg: none`, no signature, otherwise well-formed and unexpired.
[[nodiscard]] std::string unsigned_token_for(const std::string& user);

// Base64url without padding (RFC 7515).
[[nodiscard]] std::string base64url(std::string_view in);

}  // namespace progress::test
