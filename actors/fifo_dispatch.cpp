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
  gs.rest.emplace_back(std::move(x), names_);
  ++jobs_;
  if (fresh_on_) ++gs.fresh;
  if (!gs.running && !gs.backing_off) queue_group(group, gs, false);
}

bool fifo_dispatch::add_delayed(job& x, std::chrono::milliseconds wait) {
  auto& gs = groups_[x.group];
  if (!gs.empty()) return false;
  // The head of its group, waiting for its retry: the group waits too.
  auto group = x.group;
  gs.head = std::move(x);
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
  q_.self->delayed_send(q_.self, wait, atom::retry_v, group, gs.head->id);
}

void fifo_dispatch::dispatch() {
  while (running_groups_ < q_.spec.concurrency && !ready_groups_.empty()) {
    auto group = std::move(ready_groups_.front());
    ready_groups_.pop_front();
    auto i = groups_.find(group);
    if (i == groups_.end()) continue;
    auto& gs = i->second;
    gs.queued = false;
    if (gs.empty() && !gs.running && !gs.actor) {
      groups_.erase(i); // taken away while it was queued
      continue;
    }
    if (gs.empty() || gs.running || gs.backing_off) continue;
    if (gate_ && !gate_(group)) continue; // reopen() queues it again
    if (!gs.actor) {
      gs.actor = q_.spawn_child(group);
      group_of_.emplace(gs.actor.address(), group);
    }
    gs.running = true;
    ++running_groups_;
    gs.head = gs.rest.front().release(q_.spec.name, group);
    gs.rest.pop_front();
    gs.since = q_.start_attempt(gs.actor, *gs.head);
  }
}

bool fifo_dispatch::finish(const caf::actor_addr& who, attempt_done& x) {
  auto g = group_of_.find(who);
  if (g == group_of_.end()) return false;
  auto group = g->second;
  auto& gs = groups_[group];
  if (!gs.running || !gs.head || gs.head->id != x.job_id
      || gs.head->attempts != x.number)
    return false;
  gs.running = false;
  --running_groups_;
  auto& j = *gs.head;
  auto v = q_.settle(j, x);
  switch (v.next) {
    case queue_state::verdict::succeeded:
      gs.head.reset();
      --jobs_;
      gs.fresh = std::min(gs.fresh, gs.rest.size());
      next_in_group(group, gs);
      break;
    case queue_state::verdict::retry:
      // The group waits: later jobs of it must not overtake this one.
      back_off(group, gs, v.delay);
      break;
    case queue_state::verdict::dead: {
      auto dead = std::move(j);
      gs.head.reset();
      --jobs_;
      gs.fresh = std::min(gs.fresh, gs.rest.size());
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
  if (!gs.backing_off || !gs.head || gs.head->id != job_id
      || q_.self->clock().now() < gs.retry_due)
    return false;
  gs.backing_off = false;
  gs.retry_due_at = 0;
  demote_head(gs);
  queue_group(group, gs, false);
  return true;
}

std::optional<job> fifo_dispatch::retry_now(const std::string& id) {
  for (auto& [group, gs] : groups_) {
    if (!gs.backing_off || !gs.head || gs.head->id != id) continue;
    auto out = without_payload(*gs.head);
    gs.backing_off = false;
    gs.retry_due_at = 0;
    demote_head(gs);
    queue_group(group, gs, false);
    return out;
  }
  return std::nullopt;
}

void fifo_dispatch::for_each_job(
  const std::function<void(const job_view&, job_status, int64_t)>& f) const {
  for (auto& [group, gs] : groups_) {
    if (gs.head && gs.running)
      f(job_view{*gs.head}, job_status::in_flight, 0);
    else if (gs.head)
      f(job_view{*gs.head}, job_status::delayed, gs.retry_due_at);
    for (auto& x : gs.rest)
      f(job_view{x, q_.spec.name, group}, job_status::waiting, 0);
  }
}

std::vector<group_info> fifo_dispatch::groups() const {
  std::vector<group_info> out;
  for (auto& [group, gs] : groups_) {
    if (gs.empty()) continue;
    group_info g;
    g.group = group;
    g.jobs = gs.size();
    g.running = gs.running;
    g.blocked_by_retry = gs.backing_off;
    g.next_attempt_at = gs.backing_off ? gs.retry_due_at : 0;
    g.head_id = std::string{gs.front_id()};
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
    demote_head(gs);
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
      f(who, *i->second.head, i->second.since);
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
    if (!gs.empty() && !gs.running && !gs.backing_off)
      queue_group(group, gs, false);
}

void fifo_dispatch::set_fresh(bool on) {
  fresh_on_ = on;
  if (!on)
    for (auto& kvp : groups_) kvp.second.fresh = 0;
}

std::ptrdiff_t fifo_dispatch::rest_index(const group_state& gs, size_t at) {
  // The head, when there is one, is running or waits for its retry.
  auto skip = gs.head ? size_t{1} : size_t{0};
  return static_cast<std::ptrdiff_t>(std::max(at, skip) - skip);
}

void fifo_dispatch::demote_head(group_state& gs) {
  if (!gs.head) return;
  gs.rest.emplace_front(std::move(*gs.head), names_);
  gs.head.reset();
}

void fifo_dispatch::add_handed(job&& x) {
  auto group = x.group;
  auto& gs = groups_[group];
  auto at = rest_index(gs, gs.size() - gs.fresh);
  gs.rest.emplace(gs.rest.begin() + at, std::move(x), names_);
  ++jobs_;
  if (!gs.running && !gs.backing_off) queue_group(group, gs, false);
}

bool fifo_dispatch::contains(const std::string& group,
                             const std::string& id) const {
  auto i = groups_.find(group);
  if (i == groups_.end()) return false;
  auto& gs = i->second;
  if (gs.head && gs.head->id == id) return true;
  for (auto& x : gs.rest)
    if (x.id() == id) return true;
  return false;
}

bool fifo_dispatch::running(const std::string& group) const {
  auto i = groups_.find(group);
  return i != groups_.end() && i->second.running;
}

bool fifo_dispatch::has_jobs(const std::string& group) const {
  auto i = groups_.find(group);
  return i != groups_.end() && !i->second.empty();
}

std::deque<job> fifo_dispatch::take(const std::string& group,
                                    bool& was_delayed) {
  was_delayed = false;
  auto i = groups_.find(group);
  if (i == groups_.end() || i->second.running) return {};
  auto& gs = i->second;
  was_delayed = gs.backing_off && gs.head;
  std::deque<job> out;
  if (gs.head) out.push_back(std::move(*gs.head));
  gs.head.reset();
  for (auto& x : gs.rest) out.push_back(x.release(q_.spec.name, group));
  gs.rest.clear();
  jobs_ -= out.size();
  gs.backing_off = false;
  gs.retry_due_at = 0;
  gs.fresh = 0;
  next_in_group(group, gs); // stops the actor; drops the group unless queued
  return out;
}

void fifo_dispatch::put_back(const std::string& group, std::deque<job>&& xs) {
  if (xs.empty()) return;
  auto& gs = groups_[group];
  jobs_ += xs.size();
  // Behind a running or delayed first job, in their order.
  for (auto k = xs.rbegin(); k != xs.rend(); ++k)
    gs.rest.emplace_front(std::move(*k), names_);
  if (!gs.running && !gs.backing_off) queue_group(group, gs, false);
}

void fifo_dispatch::for_each_group(
  const std::function<void(const std::string&, size_t)>& f) const {
  for (auto& [group, gs] : groups_)
    if (!gs.empty()) f(group, gs.size());
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
  if (!gs.empty()) {
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
