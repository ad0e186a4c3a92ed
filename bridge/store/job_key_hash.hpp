#pragma once
#include <cstddef>
#include <functional>
#include <string_view>
#include <unordered_set>

#include "progress/protocol/topic.hpp"

namespace progress::bridge {

// Deliberately not noexcept: libstdc++ then keeps each node's hash in the node,
// so a lookup compares hashes before keys and a bucket walk never hashes the
// strings of its neighbours again (with a million jobs, the lookups of the
// store's map were a tenth of the bridge's start-up).
struct job_key_hash {
  std::size_t operator()(const job_key& key) const {
    const std::hash<std::string_view> hash;
    return hash(key.user_id) * 31 + hash(key.job_id);
  }
};

using job_key_set = std::unordered_set<job_key, job_key_hash>;

}  // namespace progress::bridge
