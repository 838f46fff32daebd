// The dispatch policy of a FIFO queue: one group actor per message group,
// spawned on demand and stopped when its group is empty; one job of a group
// at a time, in enqueue order even through retries (a failed job stays at
// its group's front and the group waits for the timer (retry, group, id));
// at most `concurrency` groups running at once, taken in the order they
// became ready. In a cluster the supervisor sets a gate (only groups this
// node owns run, and only once the other nodes have handed theirs over)
// and moves whole groups in and out: take() and add_handed().
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/queue_dispatch.hpp"

namespace troupe {

struct queue_state;

class fifo_dispatch final : public queue_dispatch {
public:
  /// `q` owns this policy and outlives it.
  explicit fifo_dispatch(queue_state& q) : q_(q) {}

  void add_waiting(job&& x) override;
  bool add_delayed(job& x, std::chrono::milliseconds wait) override;
  void dispatch() override;
  bool finish(const caf::actor_addr& who, attempt_done& x) override;
  bool retry(const std::string& group, const std::string& job_id) override;
  std::optional<job> retry_now(const std::string& id) override;
  void for_each_job(const std::function<void(const job_view&, job_status,
                                             int64_t)>& f) const override;
  /// Every group that has jobs, in no particular order (`held` unset).
  std::vector<group_info> groups() const;
  bool child_down(const caf::down_msg& dm) override;
  void for_each_running(
    const std::function<void(const caf::actor_addr&, const job&, time_point)>&
      f) const override;
  uint64_t in_flight() const override { return running_groups_; }
  uint64_t waiting() const override;
  void children(std::vector<caf::actor>& out) const override;
  void stop(const caf::error& reason) override;

  // -- in a cluster ------------------------------------------------------------

  /// Only groups for which `may_run` says yes start attempts; the others
  /// keep their jobs. Call reopen() whenever its answers may have changed.
  void set_gate(std::function<bool(const std::string&)> may_run);
  /// Queues every idle group that has jobs again.
  void reopen();
  /// While on, jobs added with add_waiting() count as fresh: add_handed()
  /// puts handed-over jobs in front of them. Off clears the marks.
  void set_fresh(bool on);
  /// Adds a job another node handed over: behind the group's older jobs,
  /// in front of the fresh ones.
  void add_handed(job&& x);
  /// True if a job of `group` with this id is here.
  bool contains(const std::string& group, const std::string& id) const;
  bool running(const std::string& group) const;
  /// True if `group` has jobs here.
  bool has_jobs(const std::string& group) const;
  /// Removes all of `group`'s jobs and returns them in order; the group's
  /// actor stops. Sets `was_delayed` if its first job waited for a retry
  /// timer (the timer then finds nothing). REQUIRES: !running(group).
  std::deque<job> take(const std::string& group, bool& was_delayed);
  /// Puts jobs back in front of `group`'s (behind a running or delayed
  /// first one), in order.
  void put_back(const std::string& group, std::deque<job>&& xs);
  /// Calls `f(group, number of jobs)` for every group that has jobs.
  void for_each_group(
    const std::function<void(const std::string&, size_t)>& f) const;

private:
  /// One message group.
  struct group_state {
    /// The group's first job, whole, while it is being attempted or waits
    /// for its retry (exactly then); the jobs behind it in enqueue order,
    /// compact (all of them while the group waits its turn).
    std::optional<job> head;
    std::deque<waiting_job> rest;
    caf::actor actor;
    /// The front job is being attempted.
    bool running = false;
    /// The front job waits for its retry timer.
    bool backing_off = false;
    /// When that timer fires (actor clock; an earlier one is stale), and
    /// the same in ms since the epoch.
    time_point retry_due;
    int64_t retry_due_at = 0;
    /// The group is in `ready_groups_`.
    bool queued = false;
    /// When the running attempt started.
    time_point since;
    /// The last `fresh` jobs were added while fresh marking was on.
    size_t fresh = 0;

    size_t size() const { return (head ? 1 : 0) + rest.size(); }
    bool empty() const { return !head && rest.empty(); }
    std::string_view front_id() const {
      return head ? std::string_view{head->id} : rest.front().id();
    }
  };

  /// Where a job can go in `gs.rest`, `at` counted over all its jobs: not
  /// before a first job that is running or waits for its retry.
  static std::ptrdiff_t rest_index(const group_state& gs, size_t at);
  /// The first job of `gs`, running no more and not waiting for a retry,
  /// waits its turn again.
  void demote_head(group_state& gs);

  void queue_group(const std::string& group, group_state& gs, bool front);
  /// The front job of `group` waits `wait` for its retry; arms the timer.
  void back_off(const std::string& group, group_state& gs,
                std::chrono::milliseconds wait);
  /// After the front job of `group` left: queues the next one, or stops an
  /// idle group's actor and drops the group.
  void next_in_group(const std::string& group, group_state& gs);

  queue_state& q_;
  function_names names_;
  std::unordered_map<std::string, group_state> groups_;
  /// Groups whose front job can start, in order.
  std::deque<std::string> ready_groups_;
  std::unordered_map<caf::actor_addr, std::string> group_of_;
  uint32_t running_groups_ = 0;
  /// Jobs in all groups, running and backing off ones included.
  uint64_t jobs_ = 0;
  std::function<bool(const std::string&)> gate_;
  bool fresh_on_ = false;
};

} // namespace troupe
