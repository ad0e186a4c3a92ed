#pragma once
// Development tokens: `progress-bridge token --user alice [--admin] [--ttl 1h]`
// prints one signed with the bridge's HS256 secret (docs/auth.md).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace progress::bridge {

// Longest lifetime mint_token() signs: dev tokens should not outlive a year.
inline constexpr std::chrono::seconds max_token_ttl = std::chrono::days{365};

// An HS256 token with sub = user_id, iat = now, exp = now + ttl and, when
// `admin`, role = "admin". Throws std::invalid_argument when user_id fails
// progress::is_valid_id, the secret is shorter than 32 bytes or ttl is not in
// (0, max_token_ttl]; std::runtime_error if signing fails.
[[nodiscard]] std::string mint_token(
    std::string_view hs256_secret, std::string_view user_id, bool admin, std::chrono::seconds ttl,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// "90s", "15m", "1h", "7d" or bare seconds "3600" -> that many seconds.
// Nothing for anything else: empty, signs, spaces, other units, or overflow.
// "0" is accepted; callers that need a positive duration check it.
[[nodiscard]] std::optional<std::chrono::seconds> parse_duration(std::string_view text) noexcept;

}  // namespace progress::bridge
