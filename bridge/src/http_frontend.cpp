#include "http_frontend.hpp"

#include <spdlog/spdlog.h>

#include "build_info.hpp"
#include "http_error.hpp"
#include "progress/protocol/topic.hpp"
#include "query_string.hpp"
#include "sse_session.hpp"
#include "websocket_session.hpp"

namespace progress::bridge {

namespace {

constexpr std::string_view websocket_route = "/api/v1/ws";
constexpr std::string_view sse_route = "/api/v1/users/{userId}/stream";
constexpr std::string_view static_route = "static";

// The {userId} of /api/v1/users/{userId}/stream, still percent-encoded.
std::optional<std::string_view> sse_user(std::string_view path) {
  constexpr std::string_view prefix = "/api/v1/users/";
  constexpr std::string_view suffix = "/stream";
  if (!path.starts_with(prefix) || !path.ends_with(suffix)) return std::nullopt;
  const auto user = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  if (user.empty() || user.find('/') != std::string_view::npos) return std::nullopt;
  return user;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Writes one response on a connection taken from its HTTP session, then closes it.
class final_reply : public std::enable_shared_from_this<final_reply> {
 public:
  final_reply(beast::tcp_stream&& stream, http_response res)
      : stream_(std::move(stream)), res_(std::move(res)) {
    res_.keep_alive(false);
  }

  void run() {
    stream_.expires_after(std::chrono::seconds{10});
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code, std::size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      self->stream_.close();
    });
  }

 private:
  beast::tcp_stream stream_;
  http_response res_;
};

}  // namespace

http_frontend::http_frontend(std::shared_ptr<rest_api> api, std::shared_ptr<stream_hub> hub,
                             std::shared_ptr<const static_files> files, metrics& metrics,
                             stream_options streams, std::vector<std::string> cors_origins)
    : api_(std::move(api)),
      hub_(std::move(hub)),
      files_(std::move(files)),
      metrics_(metrics),
      streams_(streams),
      cors_(std::move(cors_origins)) {}

http_response http_frontend::handle(const http_request& req, const request_info& info) {
  const auto path = split_target(req.target()).first;
  const bool api_path =
      path.starts_with("/api/") || path == "/healthz" || path == "/readyz" || path == "/metrics";
  if (!api_path && files_ && (req.method() == http::verb::get || req.method() == http::verb::head)) {
    if (auto res = files_->serve(req, path)) {
      metrics_.http_request(static_route, res->result_int(), seconds_since(info.received_at));
      return std::move(*res);
    }
  }
  return api_->handle(req, info);
}

void http_frontend::on_rejected(http::status status, const request_info& info) {
  api_->on_rejected(status, info);
}

stream_handoff http_frontend::take_over(const http_request& req, const request_info& info) {
  const auto path = split_target(req.target()).first;
  if (cors_policy::is_preflight(req)) return {};  // the REST API answers preflights
  if (path == websocket_route) return admit(stream_kind::websocket, {}, req, info);
  if (const auto user = sse_user(path)) return admit(stream_kind::sse, *user, req, info);
  return {};
}

stream_handoff http_frontend::refuse(http_response res, std::string_view route, const request_info& info) {
  metrics_.http_request(route, res.result_int(), seconds_since(info.received_at));
  return [res = std::move(res)](beast::tcp_stream stream, http_request, beast::flat_buffer) mutable {
    std::make_shared<final_reply>(std::move(stream), std::move(res))->run();
  };
}

stream_handoff http_frontend::admit(stream_kind kind, std::string_view user_segment, const http_request& req,
                                    const request_info& info) {
  const std::string_view route = kind == stream_kind::websocket ? websocket_route : sse_route;
  const auto answer = [&](http_response res) {
    cors_.apply(req, res);
    return refuse(std::move(res), route, info);
  };
  if (req.method() != http::verb::get) return answer(method_not_allowed(req, "GET"));
  if (auto limited = api_->rate_limit(req, info)) return answer(std::move(*limited));
  const auto query = query_params::parse(split_target(req.target()).second);
  if (!query) return answer(bad_request(req, "malformed or oversized query string"));
  auto who = api_->authenticate(req, *query);
  if (auto* denied = std::get_if<http_response>(&who)) return answer(std::move(*denied));
  auto& principal = std::get<struct principal>(who);

  // The cursor to resume from: ?cursor=, or Last-Event-ID for SSE.
  std::string cursor;
  if (const auto param = query->get("cursor")) {
    cursor = std::string(*param);
  } else if (const auto header = req.find("Last-Event-ID"); kind == stream_kind::sse && header != req.end()) {
    cursor = std::string(header->value());
  }
  if (cursor.size() > 64) cursor.clear();  // not one of ours: start from a snapshot
  const auto resume_after = cursor.empty() ? std::nullopt : parse_stream_cursor(cursor, hub_->epoch());

  if (kind == stream_kind::websocket) {
    if (!beast::websocket::is_upgrade(req)) {
      auto res = error_response(req, http::status::upgrade_required, "upgrade_required",
                                "this endpoint speaks WebSocket only");
      res.set(http::field::upgrade, "websocket");
      res.set(http::field::connection, "Upgrade");
      return answer(std::move(res));
    }
    metrics_.http_request(route, 101, seconds_since(info.received_at));
    return [hub = hub_, &metrics = metrics_, options = streams_, principal, resume_after, cursor](
               beast::tcp_stream stream, http_request request, beast::flat_buffer) {
      std::make_shared<websocket_session>(std::move(stream), hub, metrics, principal, resume_after, cursor,
                                          options)
          ->run(std::move(request));
    };
  }

  const auto decoded = percent_decode(user_segment, false);
  if (!decoded) return answer(bad_request(req, "invalid user id"));
  stream_scope scope;
  if (*decoded == "*") {
    if (!principal.admin) return answer(forbidden(req, "following every user needs an admin token"));
  } else {
    if (!is_valid_id(*decoded)) return answer(bad_request(req, "invalid user id"));
    if (!principal.may_read(*decoded)) return answer(forbidden(req, "not allowed to read this user's jobs"));
    scope.user_id = *decoded;
  }

  http_response head{http::status::ok, req.version()};
  head.set(http::field::content_type, "text/event-stream; charset=utf-8");
  head.set(http::field::cache_control, "no-cache, no-store");
  head.set(http::field::connection, "close");
  head.set("X-Accel-Buffering", "no");  // proxies must not hold events back
  head.set(http::field::server, "progress-bridge/" + std::string(version()));
  cors_.apply(req, head);
  std::string head_text = "HTTP/1.1 200 OK\r\n";
  for (const auto& field : head) {
    head_text.append(field.name_string()).append(": ").append(field.value()).append("\r\n");
  }
  head_text += "\r\n";
  metrics_.http_request(route, 200, seconds_since(info.received_at));
  return [hub = hub_, &metrics = metrics_, options = streams_, principal, scope, resume_after, cursor,
          head_text](beast::tcp_stream stream, http_request, beast::flat_buffer) {
    std::make_shared<sse_session>(std::move(stream), hub, metrics, principal, scope, resume_after, cursor,
                                  options)
        ->run(head_text);
  };
}

}  // namespace progress::bridge
