// A job store for tests of the commit-failure paths: the memory store, whose
// apply() fails on demand, like a full or broken disk would. A failed apply()
// changes nothing, as the job_store contract requires. Shared between the
// test and the store actor; both run on the test's thread (test_coordinator).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/job_store.hpp"
#include "store/store_error.hpp"

namespace troupe::testing {

class failing_store final : public store::job_store {
public:
  /// While true, every apply() fails with errc::store_failure.
  bool failing = false;
  /// How many apply() calls failed so far.
  uint64_t failed_applies = 0;

  caf::expected<std::vector<uint64_t>>
  apply(const std::vector<store::store_write>& batch) override {
    if (!failing) return inner_->apply(batch);
    ++failed_applies;
    return store::store_error("injected failure: disk full");
  }

  caf::error
  for_each_job(const std::function<void(store::stored_job&&)>& each) override {
    return inner_->for_each_job(each);
  }

  caf::expected<store::state_counts> count() override {
    return inner_->count();
  }

  caf::expected<std::vector<std::string>> paused_queues() override {
    return inner_->paused_queues();
  }

  /// Every stored job, in seq order.
  std::vector<store::stored_job> stored() {
    std::vector<store::stored_job> all;
    inner_->for_each_job(
      [&](store::stored_job&& x) { all.push_back(std::move(x)); });
    return all;
  }

private:
  std::unique_ptr<store::job_store> inner_ = store::make_memory_store();
};

} // namespace troupe::testing
