// HTTP requests as api_service::serve sees them once http_session has read
// them: the route table, query strings, tokens, CORS, the REST handlers over a
// small store, and the dashboard's static files. Input layout:
//   byte 0: bits 0-2 the method, bit 3 a valid token for alice, bit 4 an
//           admin's token instead, bit 5 an allowed Origin, bit 6 WebSocket
//           upgrade headers
//   then:   the target up to the first newline, then "Name: value" header lines
// Stream routes answer with a hand-off, which is dropped (no socket here).
// Also fuzzes percent_decode, split_target and query_params::parse directly.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "api_service.hpp"
#include "progress/protocol/validation.hpp"
#include "query_string.hpp"
#include "token_issuer.hpp"

using namespace progress::bridge;

namespace {

constexpr std::string_view secret = "fuzzing-secret-that-is-at-least-32-bytes";
constexpr std::size_t max_headers = 16;

struct bridge_under_test {
  bridge_under_test() {
    const auto add = [this](const char* user, const char* job, const char* payload) {
      const progress::job_key key{user, job};
      auto parsed = progress::parse_update(key, payload);
      if (!parsed) std::abort();
      store.apply(key, std::move(*parsed.state), 1000);
    };
    add("alice", "import-1", R"({"seq":1,"status":"in_progress","progress":50,"type":"import"})");
    add("alice", "import-1", R"({"seq":2,"status":"in_progress","progress":75,"type":"import"})");
    add("alice", "render-2", R"({"seq":1,"status":"completed","progress":100,"type":"render"})");
    add("bob", "sale-3", R"({"seq":1,"status":"failed","error":{"code":"E","message":"no"}})");
    api = std::make_shared<api_service>(
        store, hub, stats, access, std::make_shared<const static_files>(PROGRESS_WEB_ROOT),
        [] { return true; }, api_options{.cors_origins = {"https://app.example"}, .streams = {}});
  }

  progress::bridge::job_store store;
  metrics stats;
  jwt_verifier verifier{jwt_verifier_options{std::string(secret), {}, std::chrono::seconds{30}}};
  access_policy access{verifier, stats, access_limits{.rate_limit = 0}};
  net::io_context ioc;
  std::shared_ptr<stream_hub> hub = std::make_shared<stream_hub>(ioc, store);
  std::shared_ptr<api_service> api;
  const std::string alice_token = mint_token(secret, "alice", false, std::chrono::hours{24 * 365});
  const std::string admin_token = mint_token(secret, "ops", true, std::chrono::hours{24 * 365});
};

constexpr std::array methods{http::verb::get,     http::verb::head,    http::verb::post,  http::verb::put,
                             http::verb::delete_, http::verb::options, http::verb::patch, http::verb::trace};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static bridge_under_test bridge;
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  std::string_view rest{reinterpret_cast<const char*>(data) + 1, size - 1};
  const auto line_end = rest.find('\n');
  const std::string_view target = rest.substr(0, line_end);
  rest = line_end == std::string_view::npos ? std::string_view{} : rest.substr(line_end + 1);

  const auto [path, query] = split_target(target);
  if (path.size() + (query.empty() ? 0 : query.size() + 1) > target.size()) std::abort();
  (void)percent_decode(path, false);
  if (const auto params = query_params::parse(query); params && params->size() > max_query_params)
    std::abort();

  http_request req;
  req.method(methods[flags & 0x7u]);
  req.version(11);
  try {
    req.target(target);
    if (flags & 0x08u) req.set(http::field::authorization, "Bearer " + bridge.alice_token);
    if (flags & 0x10u) req.set(http::field::authorization, "Bearer " + bridge.admin_token);
    if (flags & 0x20u) req.set(http::field::origin, "https://app.example");
    if (flags & 0x40u) {
      req.set(http::field::upgrade, "websocket");
      req.set(http::field::connection, "Upgrade");
      req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
      req.set(http::field::sec_websocket_version, "13");
    }
    for (std::size_t count = 0; !rest.empty() && count < max_headers; ++count) {
      const auto end = rest.find('\n');
      const std::string_view line = rest.substr(0, end);
      rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
      const auto colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) continue;
      req.set(line.substr(0, colon), line.substr(colon + 1));
    }
  } catch (const std::exception&) {
    return 0;  // Beast refuses what its parser would never have produced (e.g. CR/LF in a field)
  }
  const auto answer = bridge.api->serve(req, request_info{"127.0.0.1", "127.0.0.1", std::chrono::steady_clock::now()});
  if (const auto* res = std::get_if<http_response>(&answer)) {
    if (res->result_int() < 100 || res->result_int() > 599) std::abort();
  }
  return 0;
}
