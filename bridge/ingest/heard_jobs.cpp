#include "heard_jobs.hpp"

#include <utility>

namespace progress::bridge {

bool heard_jobs::add(std::shared_ptr<const stored_job> job) {
  if (!jobs_) jobs_.emplace(job_set::allocator_type{&pool_});
  if (const auto it = jobs_->find(job->key); it != jobs_->end()) {
    it->job = std::move(job);
    return true;
  }
  if (jobs_->size() >= limit_) return false;
  jobs_->insert(entry{std::move(job)});
  return true;
}

bool heard_jobs::contains(const job_key& key) const {
  return jobs_ && jobs_->contains(key);
}

void heard_jobs::clear() {
  jobs_.reset();
  pool_.release();
}

}  // namespace progress::bridge
