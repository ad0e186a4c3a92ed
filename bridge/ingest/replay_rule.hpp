#pragma once
// The rule that keeps a broker crash from losing what the broker acknowledged
// (docs/protocol.md, "State markers"), as pure functions of what the bridge
// holds and what the broker's replay showed.
//
// The bridge publishes state markers, numbered with its store revision, after
// the changes it applies. Every message the bridge received before it sent
// marker M reached the broker before M did, so a broker whose retained replay
// holds M also holds (or has since replaced) every state of a change with
// revision <= M. A change with a revision above M may have been lost with the
// broker's memory.
#include <cstdint>
#include <optional>

#include "progress/protocol/job_state.hpp"
#include "progress/protocol/update_order.hpp"

namespace progress::bridge {

// What the broker's replay said about this store's markers.
struct broker_view {
  // M: this store's marker in the replay, or nothing.
  std::optional<std::uint64_t> marker;
  // The broker acknowledged a marker of this store at some time (recorded in
  // the journal): a replay without any marker then means the broker lost it.
  bool acknowledged_before = false;
};

// A change with this revision may be missing from the broker.
[[nodiscard]] constexpr bool maybe_lost(std::uint64_t revision, const broker_view& view) noexcept {
  return view.marker ? revision > *view.marker : view.acknowledged_before;
}

enum class absent_job_verdict {
  removed,    // a worker removed it (or it expired at the broker): remove it here too
  republish,  // the broker may have lost it: publish the bridge's state again
};

// A job the bridge holds that a complete replay did not bring.
[[nodiscard]] constexpr absent_job_verdict absent_job(std::uint64_t revision, const broker_view& view) noexcept {
  return maybe_lost(revision, view) ? absent_job_verdict::republish : absent_job_verdict::removed;
}

// The replay brought an older state of a job than the bridge holds (the store
// kept its own as stale or after-terminal): publish the bridge's again?
[[nodiscard]] constexpr bool republish_newer(std::uint64_t revision, const broker_view& view) noexcept {
  return maybe_lost(revision, view);
}

// The replay brought back a job the bridge removed (at `removal_revision`,
// with `removed` its last state): republish the removal instead of taking the
// job back? Yes when the removal may be lost and the replayed state is not
// newer than the one removed (a newer one was published after the removal).
[[nodiscard]] inline bool republish_removal(std::uint64_t removal_revision, const job_state& removed,
                                            const job_state& replayed, const broker_view& view) noexcept {
  return maybe_lost(removal_revision, view) && !is_accepted(decide_update(&removed, replayed));
}

}  // namespace progress::bridge
