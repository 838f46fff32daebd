// The dispatch policy of a FIFO queue: one group actor per message group,
// spawned on demand and stopped when its group is empty; one job of a group
// at a time, in enqueue order even through retries (a failed job stays at
// its group's front and the group waits for the timer (retry, group, id));
// at most `concurrency` groups running at once, taken in the order they
// became ready.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
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
  /// Never scheduled by a FIFO queue: ignored.
  bool retry(job& x) override;
  bool retry(const std::string& group, const std::string& job_id) override;
  bool child_down(const caf::down_msg& dm) override;
  void for_each_running(
    const std::function<void(const caf::actor_addr&, const job&, time_point)>&
      f) const override;
  uint64_t in_flight() const override { return running_groups_; }
  uint64_t waiting() const override;
  void children(std::vector<caf::actor>& out) const override;
  void stop(const caf::error& reason) override;

private:
  /// One message group.
  struct group_state {
    /// The group's jobs in enqueue order; the front one is the current job.
    std::deque<job> jobs;
    caf::actor actor;
    /// The front job is being attempted.
    bool running = false;
    /// The front job waits for its retry timer.
    bool backing_off = false;
    /// The group is in `ready_groups_`.
    bool queued = false;
    /// When the running attempt started.
    time_point since;
  };

  void queue_group(const std::string& group, group_state& gs, bool front);
  /// After the front job of `group` left: queues the next one, or stops an
  /// idle group's actor and drops the group.
  void next_in_group(const std::string& group, group_state& gs);

  queue_state& q_;
  std::unordered_map<std::string, group_state> groups_;
  /// Groups whose front job can start, in order.
  std::deque<std::string> ready_groups_;
  std::unordered_map<caf::actor_addr, std::string> group_of_;
  uint32_t running_groups_ = 0;
  /// Jobs in all groups, running and backing off ones included.
  uint64_t jobs_ = 0;
};

} // namespace troupe
