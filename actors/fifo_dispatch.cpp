#include "actors/fifo_dispatch.hpp"

#include <algorithm>
#include <iterator>

#include "actors/job.hpp"
#include "actors/queue_actor.hpp"
#include "actors/type_ids.hpp"
#include "base/log.hpp"

namespace troupe {

void fifo_dispatch::add_waiting(job&& x) {
  auto group = x.group;
  auto& gs = groups_[group];
  gs.jobs.push_back(std::move(x));
  ++jobs_;
  if (fresh_on_) ++gs.fresh;
  if (!gs.running && !gs.backing_off) queue_group(group, gs, false);
}

bool fifo_dispatch::add_delayed(job& x, std::chrono::milliseconds wait) {
  auto& gs = groups_[x.group];
  if (!gs.jobs.empty()) return false;
  // The head of its group, waiting for its retry: the group waits too.
  auto group = x.group;
  gs.jobs.push_back(std::move(x));
  ++jobs_;
  back_off(group, gs, wait);
  return true;
}

void fifo_dispatch::back_off(const std::string& group, group_state& gs,
                             std::chrono::milliseconds wait) {
  gs.backing_off = true;
  // Taken before the timer is armed, so the timer never fires before it.
  gs.retry_due = q_.self->clock().now() + wait;
  gs.retry_due_at = now_ms() + wait.count();
  q_.self->delayed_send(q_.self, wait, atom::retry_v, group,
                        gs.jobs.front().id);
}

void fifo_dispatch::dispatch() {
  while (running_groups_ < q_.spec.concurrency && !ready_groups_.empty()) {
    auto group = std::move(ready_groups_.front());
    ready_groups_.pop_front();
    auto i = groups_.find(group);
    if (i == groups_.end()) continue;
    auto& gs = i->second;
    gs.queued = false;
    if (gs.jobs.empty() && !gs.running && !gs.actor) {
      groups_.erase(i); // taken away while it was queued
      continue;
    }
    if (gs.jobs.empty() || gs.running || gs.backing_off) continue;
    if (gate_ && !gate_(group)) continue; // reopen() queues it again
    if (!gs.actor) {
      gs.actor = q_.spawn_child(group);
      group_of_.emplace(gs.actor.address(), group);
    }
    gs.running = true;
    ++running_groups_;
    gs.since = q_.start_attempt(gs.actor, gs.jobs.front());
  }
}

bool fifo_dispatch::finish(const caf::actor_addr& who, attempt_done& x) {
  auto g = group_of_.find(who);
  if (g == group_of_.end()) return false;
  auto group = g->second;
  auto& gs = groups_[group];
  if (!gs.running || gs.jobs.empty() || gs.jobs.front().id != x.job_id
      || gs.jobs.front().attempts != x.number)
    return false;
  gs.running = false;
  --running_groups_;
  auto& j = gs.jobs.front();
  auto v = q_.settle(j, x);
  switch (v.next) {
    case queue_state::verdict::succeeded:
      gs.jobs.pop_front();
      --jobs_;
      gs.fresh = std::min(gs.fresh, gs.jobs.size());
      next_in_group(group, gs);
      break;
    case queue_state::verdict::retry:
      // The group waits: later jobs of it must not overtake this one.
      back_off(group, gs, v.delay);
      break;
    case queue_state::verdict::dead: {
      auto dead = std::move(j);
      gs.jobs.pop_front();
      --jobs_;
      gs.fresh = std::min(gs.fresh, gs.jobs.size());
      q_.to_dead_letters(std::move(dead));
      next_in_group(group, gs);
      break;
    }
  }
  return true;
}

bool fifo_dispatch::retry(const std::string& group, const std::string& job_id) {
  auto i = groups_.find(group);
  if (i == groups_.end()) return false;
  auto& gs = i->second;
  if (!gs.backing_off || gs.jobs.empty() || gs.jobs.front().id != job_id
      || q_.self->clock().now() < gs.retry_due)
    return false;
  gs.backing_off = false;
  gs.retry_due_at = 0;
  queue_group(group, gs, false);
  return true;
}

const job* fifo_dispatch::retry_now(const std::string& id) {
  for (auto& [group, gs] : groups_) {
    if (!gs.backing_off || gs.jobs.empty() || gs.jobs.front().id != id)
      continue;
    gs.backing_off = false;
    gs.retry_due_at = 0;
    queue_group(group, gs, false);
    return &gs.jobs.front();
  }
  return nullptr;
}

void fifo_dispatch::for_each_job(
  const std::function<void(const job&, job_status, int64_t)>& f) const {
  for (auto& kvp : groups_) {
    auto& gs = kvp.second;
    for (size_t k = 0; k < gs.jobs.size(); ++k) {
      if (k == 0 && gs.running)
        f(gs.jobs[k], job_status::in_flight, 0);
      else if (k == 0 && gs.backing_off)
        f(gs.jobs[k], job_status::delayed, gs.retry_due_at);
      else
        f(gs.jobs[k], job_status::waiting, 0);
    }
  }
}

std::vector<group_info> fifo_dispatch::groups() const {
  std::vector<group_info> out;
  for (auto& [group, gs] : groups_) {
    if (gs.jobs.empty()) continue;
    group_info g;
    g.group = group;
    g.jobs = gs.jobs.size();
    g.running = gs.running;
    g.blocked_by_retry = gs.backing_off;
    g.next_attempt_at = gs.backing_off ? gs.retry_due_at : 0;
    g.head_id = gs.jobs.front().id;
    out.push_back(std::move(g));
  }
  return out;
}

bool fifo_dispatch::child_down(const caf::down_msg& dm) {
  auto g = group_of_.find(dm.source);
  if (g == group_of_.end()) return false;
  auto group = g->second;
  group_of_.erase(g);
  auto& gs = groups_[group];
  gs.actor = nullptr;
  log::warn(q_.log_name, "group actor of '", group, "' died (",
            caf::to_string(dm.reason), ")",
            gs.running ? "; its job runs again, not charged" : "");
  if (gs.running) {
    gs.running = false;
    --running_groups_;
    queue_group(group, gs, true);
  }
  return true;
}

void fifo_dispatch::for_each_running(
  const std::function<void(const caf::actor_addr&, const job&, time_point)>& f)
  const {
  for (auto& [who, group] : group_of_) {
    auto i = groups_.find(group);
    if (i != groups_.end() && i->second.running)
      f(who, i->second.jobs.front(), i->second.since);
  }
}

uint64_t fifo_dispatch::waiting() const {
  // A delayed job stays at its group's front.
  return jobs_ - running_groups_ - q_.delayed;
}

void fifo_dispatch::children(std::vector<caf::actor>& out) const {
  for (auto& kvp : groups_)
    if (kvp.second.actor) out.push_back(kvp.second.actor);
}

void fifo_dispatch::stop(const caf::error& reason) {
  for (auto& kvp : groups_)
    if (kvp.second.actor) q_.self->send_exit(kvp.second.actor, reason);
}

void fifo_dispatch::set_gate(std::function<bool(const std::string&)> may_run) {
  gate_ = std::move(may_run);
}

void fifo_dispatch::reopen() {
  for (auto& [group, gs] : groups_)
    if (!gs.jobs.empty() && !gs.running && !gs.backing_off)
      queue_group(group, gs, false);
}

void fifo_dispatch::set_fresh(bool on) {
  fresh_on_ = on;
  if (!on)
    for (auto& kvp : groups_) kvp.second.fresh = 0;
}

size_t fifo_dispatch::first_movable(const group_state& gs) {
  return !gs.jobs.empty() && (gs.running || gs.backing_off) ? 1 : 0;
}

void fifo_dispatch::add_handed(job&& x) {
  auto group = x.group;
  auto& gs = groups_[group];
  auto at = std::max(first_movable(gs), gs.jobs.size() - gs.fresh);
  gs.jobs.insert(gs.jobs.begin() + static_cast<std::ptrdiff_t>(at),
                 std::move(x));
  ++jobs_;
  if (!gs.running && !gs.backing_off) queue_group(group, gs, false);
}

bool fifo_dispatch::contains(const std::string& group,
                             const std::string& id) const {
  auto i = groups_.find(group);
  if (i == groups_.end()) return false;
  for (auto& x : i->second.jobs)
    if (x.id == id) return true;
  return false;
}

bool fifo_dispatch::running(const std::string& group) const {
  auto i = groups_.find(group);
  return i != groups_.end() && i->second.running;
}

bool fifo_dispatch::has_jobs(const std::string& group) const {
  auto i = groups_.find(group);
  return i != groups_.end() && !i->second.jobs.empty();
}

std::deque<job> fifo_dispatch::take(const std::string& group,
                                    bool& was_delayed) {
  was_delayed = false;
  auto i = groups_.find(group);
  if (i == groups_.end() || i->second.running) return {};
  auto& gs = i->second;
  was_delayed = gs.backing_off && !gs.jobs.empty();
  auto out = std::move(gs.jobs);
  jobs_ -= out.size();
  gs.jobs.clear();
  gs.backing_off = false;
  gs.retry_due_at = 0;
  gs.fresh = 0;
  next_in_group(group, gs); // stops the actor; drops the group unless queued
  return out;
}

void fifo_dispatch::put_back(const std::string& group, std::deque<job>&& xs) {
  if (xs.empty()) return;
  auto& gs = groups_[group];
  auto at = static_cast<std::ptrdiff_t>(first_movable(gs));
  jobs_ += xs.size();
  gs.jobs.insert(gs.jobs.begin() + at, std::make_move_iterator(xs.begin()),
                 std::make_move_iterator(xs.end()));
  if (!gs.running && !gs.backing_off) queue_group(group, gs, false);
}

void fifo_dispatch::for_each_group(
  const std::function<void(const std::string&, size_t)>& f) const {
  for (auto& [group, gs] : groups_)
    if (!gs.jobs.empty()) f(group, gs.jobs.size());
}

void fifo_dispatch::queue_group(const std::string& group, group_state& gs,
                                bool front) {
  if (gs.queued) return;
  gs.queued = true;
  if (front)
    ready_groups_.push_front(group);
  else
    ready_groups_.push_back(group);
}

void fifo_dispatch::next_in_group(const std::string& group, group_state& gs) {
  if (!gs.jobs.empty()) {
    queue_group(group, gs, false);
    return;
  }
  // An idle group: stop its actor (forgotten first, so its down message
  // does not count as a crash) and drop the group.
  if (gs.actor) {
    group_of_.erase(gs.actor.address());
    q_.self->demonitor(gs.actor);
    q_.self->send_exit(gs.actor, caf::exit_reason::user_shutdown);
  }
  if (!gs.queued) groups_.erase(group);
}

} // namespace troupe
