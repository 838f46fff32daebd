// The record a queue keeps for a job waiting its turn: a `job` less what it
// shares with every job of its queue (the queue's name; a FIFO group's name,
// which keys the group) and what only a dead job has (failed_at). A million
// waiting jobs are a million of these, so the receipt id (a 36-character
// UUID) sits inline and a run of jobs for the same function shares one copy
// of its id. A job being attempted or waiting for its retry is a full `job`.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "troupe/job.hpp"

namespace troupe {

/// Shares one copy of a function id between consecutive jobs that name the
/// same function (the common case: a queue fed by one producer).
class function_names {
public:
  std::shared_ptr<const std::string> intern(std::string&& name);

private:
  std::shared_ptr<const std::string> last_;
};

class waiting_job {
public:
  waiting_job() = default;

  /// Keeps `x`'s per-job fields; its queue, group and failed_at are dropped.
  waiting_job(job&& x, function_names& names);

  waiting_job(waiting_job&&) noexcept = default;
  waiting_job& operator=(waiting_job&&) noexcept = default;

  /// The job again, in `queue` and `group`; this record is left moved
  /// from (only to be destroyed or assigned).
  job release(const std::string& queue, const std::string& group);

  /// A copy of the job, in `queue` and `group`.
  job to_job(const std::string& queue, const std::string& group) const;

  std::string_view id() const;
  int64_t enqueued_at() const { return enqueued_at_; }
  size_t payload_size() const { return payload_.size(); }

private:
  /// What few jobs have: an id that is not a UUID, an error of a failed
  /// attempt (a job waiting again after its retry timer).
  struct rare {
    std::string id;
    std::string last_error;
  };

  static constexpr size_t uuid_size = 36;

  /// The job without its payload and last error.
  job shell(const std::string& queue, const std::string& group) const;

  char uuid_[uuid_size] = {};
  uint32_t attempts_ = 0;
  int64_t enqueued_at_ = 0;
  std::shared_ptr<const std::string> function_id_;
  std::string payload_;
  std::unique_ptr<rare> rare_;
};

} // namespace troupe
