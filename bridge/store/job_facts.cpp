#include "job_facts.hpp"

namespace progress::bridge {

job_facts job_facts::of(const job_state& state) {
  return job_facts{state.status,    state.progress,       state.attempt, state.seq,
                   state.timestamp, state.stall_after_ms, state.type,    state.worker_id};
}

}  // namespace progress::bridge
