#pragma once
// Cross-origin rules for browser frontends served from another origin.
// Only configured origins get CORS headers. An explicit origin is echoed
// back with credentials allowed; "*" allows any origin but never together
// with credentials (browsers reject that combination, and it would let any
// site read a user's jobs with their cookies).
#include <string>
#include <string_view>
#include <vector>

#include "http_types.hpp"

namespace progress::bridge {

class cors_policy {
 public:
  cors_policy() = default;
  explicit cors_policy(std::vector<std::string> allowed_origins);

  [[nodiscard]] bool enabled() const noexcept { return !origins_.empty() || any_origin_; }
  [[nodiscard]] bool allows(std::string_view origin) const noexcept;

  // An OPTIONS request carrying Origin and Access-Control-Request-Method.
  [[nodiscard]] static bool is_preflight(const http_request& req) noexcept;

  // Adds the CORS headers for `req`'s Origin to `res` (nothing when the
  // origin is not allowed). Adds `Vary: Origin` whenever CORS is enabled, so
  // caches do not hand one origin's answer to another.
  void apply(const http_request& req, http_response& res) const;

  // The answer to a preflight: 204 with the allowed methods and headers when
  // the origin is allowed, 403 otherwise.
  [[nodiscard]] http_response preflight(const http_request& req, std::string_view allow_methods) const;

 private:
  std::vector<std::string> origins_;
  bool any_origin_ = false;
};

}  // namespace progress::bridge
