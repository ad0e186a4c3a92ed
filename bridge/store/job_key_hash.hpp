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

// Hash and equality of a set of `Element`s found by the job_key each holds
// (`element.key()`, which must never change while it is in the set): no
// element copies its key for the set. Lookups take a job_key as it is.
template <class Element>
struct job_key_of {
  using is_transparent = void;
  static const job_key& key(const job_key& key) noexcept { return key; }
  static const job_key& key(const Element& element) noexcept { return element.key(); }
};

template <class Element>
struct hash_by_job_key : job_key_of<Element> {
  template <class T>
  std::size_t operator()(const T& value) const {  // not noexcept, as job_key_hash
    return job_key_hash{}(this->key(value));
  }
};

template <class Element>
struct equal_by_job_key : job_key_of<Element> {
  template <class A, class B>
  bool operator()(const A& a, const B& b) const noexcept {
    return this->key(a) == this->key(b);
  }
};

template <class Element>
using set_by_job_key = std::unordered_set<Element, hash_by_job_key<Element>, equal_by_job_key<Element>>;

}  // namespace progress::bridge
