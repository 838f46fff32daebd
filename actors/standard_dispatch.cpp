#include "actors/standard_dispatch.hpp"

#include <algorithm>

#include "actors/job.hpp"
#include "actors/queue_actor.hpp"
#include "actors/type_ids.hpp"
#include "base/log.hpp"

namespace troupe {

standard_dispatch::standard_dispatch(queue_state& q) : q_(q) {}

void standard_dispatch::add_waiting(job&& x) {
  ready_.emplace_back(std::move(x), names_);
}

bool standard_dispatch::add_delayed(job& x, std::chrono::milliseconds wait) {
  delay(std::move(x), wait);
  return true;
}

void standard_dispatch::delay(job&& x, std::chrono::milliseconds wait) {
  // `due` is taken before the timer is armed, so the timer never fires
  // before it.
  auto id = x.id;
  auto due = q_.self->clock().now() + wait;
  delayed_.insert_or_assign(id, delayed_job{std::move(x), due,
                                            now_ms() + wait.count()});
  q_.self->delayed_send(q_.self, wait, atom::retry_v, std::string{},
                        std::move(id));
}

void standard_dispatch::dispatch() {
  while (!ready_.empty()) {
    // Delivery actors are spawned when a job needs one, up to
    // `concurrency`: a large limit costs nothing while the queue is idle.
    if (idle_.empty()) {
      if (busy_.size() >= q_.spec.concurrency) break;
      idle_.push_back(q_.spawn_child({}));
    }
    auto child = std::move(idle_.back());
    idle_.pop_back();
    auto x = ready_.front().release(q_.spec.name, {});
    ready_.pop_front();
    auto since = q_.start_attempt(child, x);
    auto addr = child.address();
    busy_.emplace(std::move(addr),
                  running{std::move(x), since, std::move(child)});
  }
}

bool standard_dispatch::finish(const caf::actor_addr& who, attempt_done& x) {
  auto i = busy_.find(who);
  if (i == busy_.end() || i->second.x.id != x.job_id
      || i->second.x.attempts != x.number)
    return false;
  auto j = std::move(i->second.x);
  idle_.push_back(std::move(i->second.child));
  busy_.erase(i);
  auto v = q_.settle(j, x);
  switch (v.next) {
    case queue_state::verdict::succeeded: break;
    case queue_state::verdict::retry: delay(std::move(j), v.delay); break;
    case queue_state::verdict::dead: q_.to_dead_letters(std::move(j)); break;
  }
  return true;
}

bool standard_dispatch::retry(const std::string&, const std::string& job_id) {
  auto i = delayed_.find(job_id);
  if (i == delayed_.end() || q_.self->clock().now() < i->second.due)
    return false;
  ready_.emplace_back(std::move(i->second.x), names_);
  delayed_.erase(i);
  return true;
}

std::optional<job> standard_dispatch::retry_now(const std::string& id) {
  auto i = delayed_.find(id);
  if (i == delayed_.end()) return std::nullopt;
  auto out = without_payload(i->second.x);
  ready_.emplace_back(std::move(i->second.x), names_);
  delayed_.erase(i);
  return out;
}

void standard_dispatch::for_each_job(
  const std::function<void(const job_view&, job_status, int64_t)>& f) const {
  static const std::string no_group;
  for (auto& x : ready_)
    f(job_view{x, q_.spec.name, no_group}, job_status::waiting, 0);
  for (auto& kvp : busy_) f(job_view{kvp.second.x}, job_status::in_flight, 0);
  for (auto& kvp : delayed_)
    f(job_view{kvp.second.x}, job_status::delayed, kvp.second.due_at);
}

bool standard_dispatch::child_down(const caf::down_msg& dm) {
  if (auto i = busy_.find(dm.source); i != busy_.end()) {
    log::warn(q_.log_name, "delivery actor died (", caf::to_string(dm.reason),
              "); job ", i->second.x.id, " runs again, not charged");
    ready_.emplace_front(std::move(i->second.x), names_);
    busy_.erase(i);
  } else {
    auto j = std::find_if(idle_.begin(), idle_.end(), [&](const caf::actor& a) {
      return a.address() == dm.source;
    });
    if (j == idle_.end()) return false;
    idle_.erase(j);
    log::warn(q_.log_name, "idle delivery actor died (",
              caf::to_string(dm.reason), ")");
  }
  return true; // dispatch() spawns another one when a job needs it
}

void standard_dispatch::for_each_running(
  const std::function<void(const caf::actor_addr&, const job&, time_point)>& f)
  const {
  for (auto& [who, r] : busy_) f(who, r.x, r.since);
}

void standard_dispatch::children(std::vector<caf::actor>& out) const {
  out.insert(out.end(), idle_.begin(), idle_.end());
  for (auto& kvp : busy_) out.push_back(kvp.second.child);
}

void standard_dispatch::stop(const caf::error& reason) {
  for (auto& c : idle_) q_.self->send_exit(c, reason);
  for (auto& kvp : busy_) q_.self->send_exit(kvp.first, reason);
}

} // namespace troupe
