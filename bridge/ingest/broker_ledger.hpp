#pragma once
// What the ingest keeps across restarts for the broker-crash rule
// (docs/protocol.md, "State markers"): the id of its store, the last state
// marker the broker acknowledged, and the job removals it remembers. The
// journal keeps them on disk (it implements broker_ledger); without a journal
// they last as long as the process.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "progress/protocol/job_state.hpp"
#include "progress/protocol/topic.hpp"

namespace progress::bridge {

struct marker_record {
  std::uint64_t marker = 0;     // the store revision the marker covers
  std::int64_t sent_at_ms = 0;  // when the bridge sent it
};

// A job removal (empty retained payload) the bridge received.
struct removal_record {
  job_key key;
  std::uint64_t revision = 0;      // the store revision of the removal
  std::int64_t removed_at_ms = 0;  // when the bridge received it
  // The ordering fields (status, attempt, seq, timestamp) of the state removed.
  job_state last;
};

struct ledger_state {
  std::string store_id;  // names the store; markers of another store are not this one's
  std::optional<marker_record> acknowledged;
  std::vector<removal_record> removals;  // in any order
};

class broker_ledger {
 public:
  virtual ~broker_ledger() = default;
  // Called on the ingest's strand; must not block.
  virtual void marker_acknowledged(const marker_record& record) = 0;
  virtual void removal_remembered(const removal_record& record) = 0;
  virtual void removal_forgotten(const job_key& key) = 0;
};

}  // namespace progress::bridge
