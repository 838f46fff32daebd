// The dispatch policy of a standard queue: a pool of at most `concurrency`
// delivery actors, spawned when a waiting job finds none idle (an idle
// queue holds none, whatever its limit) and kept for the next jobs, taking
// the waiting jobs in order; attempts complete in any order. A failed job
// waits for its retry in the delayed map until its timer (retry, "", id)
// fires or retry_now() takes it out early.
#pragma once

#include <chrono>
#include <deque>
#include <unordered_map>
#include <vector>

#include "actors/queue_dispatch.hpp"

namespace troupe {

struct queue_state;

class standard_dispatch final : public queue_dispatch {
public:
  /// `q` owns this policy and outlives it.
  explicit standard_dispatch(queue_state& q);

  void add_waiting(job&& x) override;
  bool add_delayed(job& x, std::chrono::milliseconds wait) override;
  void dispatch() override;
  bool finish(const caf::actor_addr& who, attempt_done& x) override;
  bool retry(const std::string& group, const std::string& job_id) override;
  std::optional<job> retry_now(const std::string& id) override;
  void for_each_job(const std::function<void(const job_view&, job_status,
                                             int64_t)>& f) const override;
  bool child_down(const caf::down_msg& dm) override;
  void for_each_running(
    const std::function<void(const caf::actor_addr&, const job&, time_point)>&
      f) const override;
  uint64_t in_flight() const override { return busy_.size(); }
  uint64_t waiting() const override { return ready_.size(); }
  void children(std::vector<caf::actor>& out) const override;
  void stop(const caf::error& reason) override;

private:
  /// A job being attempted by a delivery actor.
  struct running {
    job x;
    time_point since;
    /// The (strong) handle: an actor nobody holds is terminated as
    /// unreachable by CAF.
    caf::actor child;
  };

  /// A job waiting for its retry timer.
  struct delayed_job {
    job x;
    /// When the timer fires (actor clock); an earlier timer is stale.
    time_point due;
    /// The same in ms since the epoch, for listings.
    int64_t due_at = 0;
  };

  /// Keeps `x` until its retry after `wait` and arms the timer.
  void delay(job&& x, std::chrono::milliseconds wait);

  queue_state& q_;
  /// Waiting jobs are kept compact: they are most of a long queue.
  function_names names_;
  std::deque<waiting_job> ready_;
  std::unordered_map<std::string, delayed_job> delayed_;
  std::vector<caf::actor> idle_;
  std::unordered_map<caf::actor_addr, running> busy_;
};

} // namespace troupe
