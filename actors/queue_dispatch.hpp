// How a queue supervisor keeps its waiting jobs and hands them to its
// children: the one thing standard and FIFO queues do differently. The
// supervisor (queue_state) owns one policy, chosen by the queue's type, and
// keeps everything else: counters, retry delays, the DLQ, the store, drain
// and stats. A policy runs inside the supervisor's handlers only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include "actors/messages.hpp"
#include "actors/waiting_job.hpp"
#include "troupe/job.hpp"
#include "troupe/job_info.hpp"

namespace troupe {

/// A job as a policy shows it for inspection: a full job (being attempted,
/// or kept whole by its policy) or a waiting record with the names it shares
/// with its queue and group. Valid while the policy is not changed.
class job_view {
public:
  explicit job_view(const job& x) : full_(&x) {}
  job_view(const waiting_job& x, const std::string& queue,
           const std::string& group)
      : waiting_(&x), queue_(&queue), group_(&group) {}

  std::string_view id() const {
    return full_ ? std::string_view{full_->id} : waiting_->id();
  }
  int64_t enqueued_at() const {
    return full_ ? full_->enqueued_at : waiting_->enqueued_at();
  }
  const std::string& group() const { return full_ ? full_->group : *group_; }
  /// A copy of the job.
  job to_job() const {
    return full_ ? *full_ : waiting_->to_job(*queue_, *group_);
  }

private:
  const job* full_ = nullptr;
  const waiting_job* waiting_ = nullptr;
  const std::string* queue_ = nullptr;
  const std::string* group_ = nullptr;
};

/// A copy of `x` without its payload (what a store write about it needs);
/// `x` is left as it was. The payload is moved aside for the copy, so
/// every other field is copied, whatever fields a job gains.
inline job without_payload(job& x) {
  auto payload = std::move(x.payload);
  job out = x;
  x.payload = std::move(payload);
  return out;
}

class queue_dispatch {
public:
  using time_point = std::chrono::steady_clock::time_point;

  virtual ~queue_dispatch() = default;

  /// Adds `x` behind the waiting jobs (of its group), without dispatching.
  virtual void add_waiting(job&& x) = 0;

  /// Takes over a recovered delayed job whose retry is due after `wait`.
  /// Returns false, leaving `x` alone, if it waits like any other job
  /// instead (FIFO: it is not the first of its group).
  virtual bool add_delayed(job& x, std::chrono::milliseconds wait) = 0;

  /// Starts attempts while there are jobs and free children.
  // REQUIRES: the queue is not draining.
  virtual void dispatch() = 0;

  /// Ends the attempt that `who` ran, with outcome `x`. Returns false for a
  /// late answer to an attempt that already ended (it timed out).
  virtual bool finish(const caf::actor_addr& who, attempt_done& x) = 0;

  /// A retry timer (retry, group, job id) fired; standard queues send an
  /// empty group. Returns true if the job left the delayed state (it waits
  /// again); false for a timer that is stale because retry_now() made the
  /// job waiting before it fired (its next retry is due later).
  virtual bool retry(const std::string& group, const std::string& job_id) = 0;

  /// A delayed job `id` becomes waiting now (its timer, when it fires, is
  /// ignored). Returns the job without its payload, or nothing when no
  /// delayed job has that id.
  virtual std::optional<job> retry_now(const std::string& id) = 0;

  /// Calls `f` with every job the policy holds, its state (waiting,
  /// in_flight or delayed) and, for a delayed one, when its next attempt is
  /// due (ms since the epoch; else 0). Waiting jobs come in the order they
  /// run (per FIFO group).
  virtual void for_each_job(
    const std::function<void(const job_view&, job_status, int64_t)>& f)
    const = 0;

  /// A child went down; its job, if any, runs again, not charged. Returns
  /// false if `dm` is not from one of this policy's children.
  virtual bool child_down(const caf::down_msg& dm) = 0;

  /// Calls `f` with each running attempt: who runs it, the job, and since
  /// when (actor clock).
  virtual void for_each_running(
    const std::function<void(const caf::actor_addr&, const job&, time_point)>&
      f) const = 0;

  virtual uint64_t in_flight() const = 0;
  /// Jobs waiting for a child, not counting delayed ones.
  virtual uint64_t waiting() const = 0;
  /// Appends every child actor to `out`.
  virtual void children(std::vector<caf::actor>& out) const = 0;
  /// Sends an exit with `reason` to every child.
  virtual void stop(const caf::error& reason) = 0;
};

} // namespace troupe
