#include "access_answers.hpp"

#include "http_error.hpp"

namespace progress::bridge {

http_response denial_response(const http_request& req, const access_denial& denial) {
  switch (denial.why) {
    case access_denial::kind::rate_limited: return too_many_requests(req, denial.retry_after);
    case access_denial::kind::unauthenticated:
      return unauthorized(req, denial.code, denial.message, denial.token_sent);
    case access_denial::kind::invalid_request: return bad_request(req, denial.message);
    case access_denial::kind::forbidden: break;
  }
  return forbidden(req, denial.message);
}

}  // namespace progress::bridge
