#pragma once
// POST /api/v1/users/{userId}/jobs/{jobId}/cancel (docs/api.md): asks the
// worker of a job to cancel it. The owner of the job or an admin may
// (access_policy::authorize_cancel); 404 for a job the store does not hold,
// 409 for one that already ended, 503 while the bridge is not connected to
// the broker, else 202 with the request's id. While a request is pending,
// asking again answers with the same id.
//
// The route only decides and answers: the request itself is made on the
// strand that writes the store (job_lifecycle::request_cancel, which `main`
// wires into cancel_channel), so it may still find the job ended there; then
// nothing is sent, which is what the user wanted anyway.
#include <functional>

#include "access_policy.hpp"
#include "api_call.hpp"
#include "job_store.hpp"
#include "progress/protocol/control_message.hpp"

namespace progress::bridge {

// The way from the API to the workers; a default-constructed one is never connected.
struct cancel_channel {
  std::function<bool()> connected;
  // Any thread.
  std::function<void(const job_key&, const control_message&)> request;
};

class cancel_routes {
 public:
  // `store` and `access` must outlive the routes.
  cancel_routes(const job_store& store, const access_policy& access, cancel_channel channel);

  [[nodiscard]] http_response cancel_job(const api_call& call) const;

 private:
  const job_store& store_;
  const access_policy& access_;
  const cancel_channel channel_;
};

}  // namespace progress::bridge
