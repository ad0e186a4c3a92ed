#include "cors_policy.hpp"

#include <algorithm>

#include "http_error.hpp"

namespace progress::bridge {

namespace {

// Browsers cache a preflight answer this long (seconds).
constexpr std::string_view preflight_max_age = "600";

}  // namespace

cors_policy::cors_policy(std::vector<std::string> allowed_origins) {
  for (auto& origin : allowed_origins) {
    while (!origin.empty() && origin.back() == '/')
      origin.pop_back();  // "https://a.example/" is an origin too
    if (origin == "*") {
      any_origin_ = true;
    } else if (!origin.empty()) {
      origins_.push_back(std::move(origin));
    }
  }
}

bool cors_policy::allows(std::string_view origin) const noexcept {
  if (origin.empty()) return false;
  return any_origin_ || std::find(origins_.begin(), origins_.end(), origin) != origins_.end();
}

bool cors_policy::is_preflight(const http_request& req) noexcept {
  return req.method() == http::verb::options && req.count(http::field::origin) != 0 &&
         req.count(http::field::access_control_request_method) != 0;
}

void cors_policy::apply(const http_request& req, http_response& res) const {
  if (!enabled()) return;
  res.set(http::field::vary, "Origin");
  const auto origin = req[http::field::origin];
  if (!allows(origin)) return;
  const bool listed = std::find(origins_.begin(), origins_.end(), origin) != origins_.end();
  if (listed) {
    res.set(http::field::access_control_allow_origin, origin);
    res.set(http::field::access_control_allow_credentials, "true");
  } else {
    res.set(http::field::access_control_allow_origin, "*");
  }
  res.set(http::field::access_control_expose_headers, "Retry-After, WWW-Authenticate");
}

http_response cors_policy::preflight(const http_request& req, std::string_view allow_methods) const {
  if (!allows(req[http::field::origin])) {
    auto res = forbidden(req, "origin not allowed");
    if (enabled()) res.set(http::field::vary, "Origin");
    return res;
  }
  http_response res{http::status::no_content, req.version()};
  res.keep_alive(req.keep_alive());
  apply(req, res);
  res.set(http::field::access_control_allow_methods, allow_methods);
  res.set(http::field::access_control_allow_headers, "Authorization, Content-Type");
  res.set(http::field::access_control_max_age, preflight_max_age);
  res.prepare_payload();
  return res;
}

}  // namespace progress::bridge
