#pragma once
// Maps (method, path) to a handler. Patterns are literal segments and
// "{name}" parameters: "/api/v1/users/{userId}/jobs/{jobId}". A path that
// matches some pattern but not for this method is "method not allowed", with
// the methods that would have worked, so the caller can send 405 + Allow.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "asio.hpp"

#include "query_string.hpp"

namespace progress::bridge {

// Path parameters captured by a match, percent-decoded.
class route_params {
 public:
  void add(std::string name, std::string value) { items_.emplace_back(std::move(name), std::move(value)); }

  // The value of parameter `name`, empty when the pattern has no such parameter.
  [[nodiscard]] std::string_view get(std::string_view name) const noexcept {
    for (const auto& [key, value] : items_) {
      if (key == name) return value;
    }
    return {};
  }
  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

enum class route_status { matched, not_found, method_not_allowed };

template <class Handler>
struct route_match {
  route_status status = route_status::not_found;
  const Handler* handler = nullptr;  // set when matched
  std::string_view pattern;          // the matched pattern: a low-cardinality metrics label
  route_params params;
  std::string allow;  // for method_not_allowed: "GET, OPTIONS"
};

template <class Handler>
class router {
 public:
  // Registers `handler` for `method` on `pattern` (which starts with '/').
  void add(boost::beast::http::verb method, std::string pattern, Handler handler) {
    routes_.push_back(route{method, std::move(pattern), std::move(handler)});
  }

  // `path` is the target without its query string, still percent-encoded.
  [[nodiscard]] route_match<Handler> match(boost::beast::http::verb method, std::string_view path) const {
    route_match<Handler> result;
    std::vector<std::string_view> allowed;
    for (const auto& r : routes_) {
      route_params params;
      if (!match_pattern(r.pattern, path, params)) continue;
      if (r.method == method) {
        result.status = route_status::matched;
        result.handler = &r.handler;
        result.pattern = r.pattern;
        result.params = std::move(params);
        return result;
      }
      result.pattern = r.pattern;
      allowed.push_back(boost::beast::http::to_string(r.method));
    }
    if (!allowed.empty()) {
      result.status = route_status::method_not_allowed;
      allowed.push_back("OPTIONS");  // CORS preflight is answered for every known path
      for (const auto m : allowed) {
        if (!result.allow.empty()) result.allow += ", ";
        result.allow += m;
      }
    }
    return result;
  }

 private:
  struct route {
    boost::beast::http::verb method;
    std::string pattern;
    Handler handler;
  };

  // Segment-by-segment comparison; a parameter matches one non-empty segment.
  static bool match_pattern(std::string_view pattern, std::string_view path, route_params& params) {
    while (!pattern.empty() && !path.empty()) {
      if (pattern.front() != '/' || path.front() != '/') return false;
      pattern.remove_prefix(1);
      path.remove_prefix(1);
      const std::string_view pseg = pattern.substr(0, pattern.find('/'));
      const std::string_view seg = path.substr(0, path.find('/'));
      pattern.remove_prefix(pseg.size());
      path.remove_prefix(seg.size());
      if (pseg.size() >= 2 && pseg.front() == '{' && pseg.back() == '}') {
        if (seg.empty()) return false;
        auto value = percent_decode(seg, false);
        if (!value) return false;
        params.add(std::string(pseg.substr(1, pseg.size() - 2)), std::move(*value));
      } else if (pseg != seg) {
        return false;
      }
    }
    return pattern.empty() && path.empty();
  }

  std::vector<route> routes_;
};

}  // namespace progress::bridge
