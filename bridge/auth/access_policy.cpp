#include "access_policy.hpp"

#include <cmath>

#include "metrics.hpp"
#include "progress/protocol/topic.hpp"

namespace progress::bridge {

namespace {

std::chrono::seconds retry_after_for(double per_second) {
  if (!(per_second > 0)) return std::chrono::seconds{1};
  return std::chrono::seconds{static_cast<std::int64_t>(std::ceil(1.0 / per_second))};
}

// The token of an `Authorization: Bearer <token>` header (the scheme is
// case-insensitive); empty when the header is anything else.
std::string_view bearer_token(std::string_view header) noexcept {
  constexpr std::string_view scheme = "bearer ";
  if (header.size() <= scheme.size()) return {};
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    const char c = header[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != scheme[i]) return {};
  }
  header.remove_prefix(scheme.size());
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  return header;
}

access_denial unauthenticated(auth_failure failure, std::string message, bool token_sent) {
  return access_denial{access_denial::kind::unauthenticated, error_code(failure), std::move(message),
                       token_sent};
}

access_denial forbidden(std::string message) {
  return access_denial{access_denial::kind::forbidden, "forbidden", std::move(message)};
}

// The rule of one user's jobs: the user themselves or an admin.
std::optional<access_denial> own_or_admin(const principal& who, std::string_view user_id,
                                          const char* refusal) {
  if (!is_valid_id(user_id)) {
    return access_denial{access_denial::kind::invalid_request, "bad_request", "invalid user id"};
  }
  // An empty user_id (a default-constructed principal) may do nothing.
  if (!who.admin && (who.user_id.empty() || user_id != who.user_id)) return forbidden(refusal);
  return std::nullopt;
}

}  // namespace

access_policy::access_policy(const jwt_verifier& verifier, metrics& metrics, access_limits limits)
    : verifier_(verifier),
      verified_(verifier.leeway()),
      metrics_(metrics),
      limiter_(limits.rate_limit, limits.rate_limit_burst, limits.rate_limit_max_clients),
      retry_after_(retry_after_for(limits.rate_limit)) {}

std::optional<access_denial> access_policy::admit(std::string_view client_address) {
  if (limiter_.allow(client_address)) return std::nullopt;
  metrics_.rate_limited();
  return access_denial{access_denial::kind::rate_limited, "rate_limited", "too many requests", false,
                       retry_after_};
}

access<principal> access_policy::authenticate(std::optional<std::string_view> authorization,
                                              std::optional<std::string_view> access_token) const {
  std::string_view token;
  if (authorization) {
    token = bearer_token(*authorization);
    if (token.empty()) {
      metrics_.auth_failure(to_string(auth_failure::malformed));
      return unauthenticated(auth_failure::malformed, "Authorization header is not a Bearer token", true);
    }
  } else if (access_token) {
    token = *access_token;
  }
  if (token.empty()) {
    metrics_.auth_failure(to_string(auth_failure::missing_token));
    return unauthenticated(auth_failure::missing_token, "missing bearer token", false);
  }
  const auto now = std::chrono::system_clock::now();
  if (auto known = verified_.find(token, now)) return std::move(*known);
  auto result = verifier_.verify(token, now);
  if (!result) {
    metrics_.auth_failure(to_string(result.failure));
    return unauthenticated(result.failure, std::move(result.message), true);
  }
  verified_.add(token, *result.who, now);
  return std::move(*result.who);
}

access<read_grant> access_policy::authorize_user(const principal& who, std::string_view user_id) const {
  if (auto denied = own_or_admin(who, user_id, "not allowed to read this user's jobs"))
    return std::move(*denied);
  return read_grant{std::string(user_id)};
}

access<cancel_grant> access_policy::authorize_cancel(const principal& who, std::string_view user_id) const {
  if (auto denied = own_or_admin(who, user_id, "not allowed to cancel this user's jobs"))
    return std::move(*denied);
  return cancel_grant{std::string(user_id)};
}

access<read_grant> access_policy::authorize_everyone(const principal& who) const {
  if (!who.admin) return forbidden("reading every user's jobs needs an admin token");
  return read_grant{std::nullopt};
}

access<read_grant> access_policy::authorize_scope(const principal& who, std::string_view user_id) const {
  return user_id == everyone ? authorize_everyone(who) : authorize_user(who, user_id);
}

}  // namespace progress::bridge
