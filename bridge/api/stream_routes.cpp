#include "stream_routes.hpp"

#include "access_answers.hpp"
#include "http_error.hpp"
#include "sse_session.hpp"
#include "store_cursor.hpp"
#include "websocket_session.hpp"
#include "wire_format.hpp"

namespace progress::bridge {

stream_routes::stream_routes(std::shared_ptr<stream_hub> hub, metrics& metrics, const access_policy& access,
                             stream_options options, const cors_policy& cors)
    : hub_(std::move(hub)),
      metrics_(metrics),
      access_(access),
      options_(std::make_shared<const stream_options>(options)),
      cors_(cors) {}

stream_routes::resume_point stream_routes::resume_from(const api_call& call, bool last_event_id) const {
  resume_point point;
  if (const auto param = call.query.get("cursor")) {
    point.cursor = std::string(*param);
  } else if (const auto header = call.req.find("Last-Event-ID"); last_event_id && header != call.req.end()) {
    point.cursor = std::string(header->value());
  }
  // A cursor that is not one of this store's: the stream starts from a snapshot.
  if (point.cursor.size() > store_cursor::max_length) point.cursor.clear();
  if (const auto cursor = store_cursor::parse(point.cursor); cursor && cursor->epoch == hub_->epoch()) {
    point.after = cursor->revision;
  }
  return point;
}

http_answer stream_routes::websocket(const api_call& call) const {
  if (!websocket::is_upgrade(call.req)) {
    auto res = error_response(call.req, http::status::upgrade_required, "upgrade_required",
                              "this endpoint speaks WebSocket only");
    res.set(http::field::upgrade, "websocket");
    res.set(http::field::connection, "Upgrade");
    return res;
  }
  // ?resume=state: the client's first message says which job versions it holds.
  const bool await_state = call.query.get("resume") == std::optional<std::string_view>{"state"};
  return [hub = hub_, &metrics = metrics_, &access = access_, options = options_, who = *call.who,
          resume = resume_from(call, false), await_state](connection_stream stream, http_request request,
                                                          beast::flat_buffer, connection_slot slot) {
    auto session = std::make_shared<websocket_session>(std::move(stream), hub, metrics, access, who,
                                                       resume.after, resume.cursor, options, await_state);
    session->hold(std::move(slot));
    session->run(std::move(request));
  };
}

http_answer stream_routes::sse(const api_call& call) const {
  auto granted = access_.authorize_scope(*call.who, call.params.get("userId"));
  if (const auto* denied = std::get_if<access_denial>(&granted)) return denial_response(call.req, *denied);
  stream_scope scope{std::move(std::get<read_grant>(granted).user_id), {}, {}};
  return [hub = hub_, &metrics = metrics_, options = options_, who = *call.who, scope = std::move(scope),
          resume = resume_from(call, true), head = wire::sse_response_head(call.req, cors_)](
             connection_stream stream, http_request, beast::flat_buffer, connection_slot slot) {
    auto session = std::make_shared<sse_session>(std::move(stream), hub, metrics, who, scope, resume.after,
                                                 resume.cursor, options);
    session->hold(std::move(slot));
    session->run(head);
  };
}

}  // namespace progress::bridge
