#pragma once
// Who may do what, decided in one place for every entry point: the REST API,
// the live-stream front door and the WebSocket `subscribe` op (docs/auth.md).
//
//   1. admit:        the client's address is within its request rate;
//   2. authenticate: the request carries a bearer token that verifies;
//   3. authorize:    the isolation rule the broker's ACLs apply to MQTT
//                    clients too: a user reads only their own jobs; another
//                    user's jobs, or everyone's ("*"), need an admin token.
//                    Cancelling a job follows the same rule: its owner or
//                    an admin.
//
// Each step answers with what it grants or with an access_denial that says
// why, in words a client may see; callers only translate a denial into their
// transport's answer (an HTTP status, an op error). Thread-safe.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "jwt_verifier.hpp"
#include "principal.hpp"
#include "rate_limiter.hpp"
#include "verified_tokens.hpp"

namespace progress::bridge {

class metrics;

struct access_denial {
  enum class kind { rate_limited, unauthenticated, invalid_request, forbidden };

  kind why = kind::forbidden;
  std::string_view code;  // the error code clients see: "token_expired", "forbidden", ...
  std::string message;    // never echoes a token
  // unauthenticated: a token was sent but refused (RFC 6750 error="invalid_token").
  bool token_sent = false;
  // rate_limited: when the client may try again.
  std::chrono::seconds retry_after{0};
};

// Whose jobs a principal was granted: one user's, or everyone's (nullopt).
struct read_grant {
  std::optional<std::string> user_id;
};

// Whose jobs a principal may cancel: one user's.
struct cancel_grant {
  std::string user_id;
};

template <typename Granted>
using access = std::variant<Granted, access_denial>;

struct access_limits {
  // Requests per second each client address may make to /api/...; 0 disables limiting.
  double rate_limit = 20;
  double rate_limit_burst = 40;
  // Client addresses tracked (see rate_limiter for what happens when full).
  std::size_t rate_limit_max_clients = 10000;
};

class access_policy {
 public:
  // The user id that stands for every user in a stream's scope.
  static constexpr std::string_view everyone = "*";

  // `verifier` and `metrics` must outlive the policy.
  access_policy(const jwt_verifier& verifier, metrics& metrics, access_limits limits);

  // Spends one request of `client_address`'s budget; a denial when it is spent.
  [[nodiscard]] std::optional<access_denial> admit(std::string_view client_address);

  // The principal a request's bearer token speaks for. `authorization` is the
  // Authorization header when one was sent (it wins); `access_token` the query
  // parameter of clients that cannot set headers (EventSource, browsers' WebSocket).
  [[nodiscard]] access<principal> authenticate(std::optional<std::string_view> authorization,
                                               std::optional<std::string_view> access_token) const;

  // Reading the jobs of `user_id`, one user ("*" is not a user id here).
  [[nodiscard]] access<read_grant> authorize_user(const principal& who, std::string_view user_id) const;
  // Reading every user's jobs.
  [[nodiscard]] access<read_grant> authorize_everyone(const principal& who) const;
  // Following `user_id`, or everyone when it is "*" (a stream's scope).
  [[nodiscard]] access<read_grant> authorize_scope(const principal& who, std::string_view user_id) const;
  // Cancelling the jobs of `user_id`, one user.
  [[nodiscard]] access<cancel_grant> authorize_cancel(const principal& who, std::string_view user_id) const;

 private:
  const jwt_verifier& verifier_;
  mutable verified_tokens verified_;
  metrics& metrics_;
  rate_limiter limiter_;
  std::chrono::seconds retry_after_;
};

}  // namespace progress::bridge
