#include "actors/queue_actor.hpp"

#include <algorithm>
#include <chrono>

#include "actors/dead_letter_actor.hpp"
#include "actors/delivery_actor.hpp"
#include "actors/type_ids.hpp"
#include "base/errc.hpp"
#include "base/log.hpp"
#include "protocol/frames.hpp"
#include "protocol/json_member.hpp"

namespace troupe {

// -- setup and teardown -------------------------------------------------------

void queue_state::init(caf::event_based_actor* self_ptr, queue_config q,
                       queue_links links) {
  self = self_ptr;
  spec = std::move(q);
  registry = std::move(links.registry);
  store = std::move(links.store);
  grace_until = self->clock().now() + links.startup_grace;
  log_name = "queue " + spec.name;
  dead_letters = self->spawn(dead_letter_actor, spec.name,
                             caf::actor_cast<caf::actor>(self));
  if (!fifo())
    for (uint32_t i = 0; i < spec.concurrency; ++i)
      idle.push_back(spawn_child({}));
}

caf::actor queue_state::spawn_child(const std::string& group) {
  return self->spawn<caf::monitored>(
    delivery_actor, caf::actor_cast<caf::actor>(self), registry, group);
}

void queue_state::on_exit(const caf::exit_msg& msg) {
  // Children are monitored, not linked: take them down with us.
  for (auto& c : idle) self->send_exit(c, msg.reason);
  for (auto& kvp : busy) self->send_exit(kvp.first, msg.reason);
  for (auto& kvp : groups)
    if (kvp.second.actor) self->send_exit(kvp.second.actor, msg.reason);
  self->send_exit(dead_letters, msg.reason);
  self->quit(msg.reason);
}

// -- accepting jobs -----------------------------------------------------------

void queue_state::recover(std::vector<store::stored_job>& jobs) {
  uint64_t waiting_n = 0;
  uint64_t delayed_n = 0;
  uint64_t dead_n = 0;
  auto now = now_ms();
  for (auto& s : jobs) {
    auto state = s.state;
    auto due_at = s.due_at;
    auto x = std::move(s.job);
    if (state == store::job_state::dead) {
      ++dead_n;
      self->send(dead_letters, atom::park_v, std::move(x));
      continue;
    }
    auto wait = std::chrono::milliseconds(std::max<int64_t>(0, due_at - now));
    if (state == store::job_state::delayed && !fifo()) {
      ++delayed_n;
      ++delayed;
      self->delayed_send(self, wait, atom::retry_v, std::move(x));
      continue;
    }
    if (state == store::job_state::delayed && groups[x.group].jobs.empty()) {
      // The head of its group, waiting for its retry: the group waits too.
      ++delayed_n;
      ++delayed;
      auto& gs = groups[x.group];
      gs.backing_off = true;
      self->delayed_send(self, wait, atom::retry_v, x.group, x.id);
      gs.jobs.push_back(std::move(x));
      ++fifo_jobs;
      continue;
    }
    ++waiting_n;
    add_waiting(std::move(x));
  }
  jobs.clear();
  if (waiting_n + delayed_n + dead_n > 0)
    log::info(log_name, "recovered ", waiting_n, " waiting (with those in ",
              "flight at the last stop), ", delayed_n, " delayed, ", dead_n,
              " dead");
  dispatch();
}

caf::result<std::string> queue_state::on_enqueue(job& x) {
  if (draining)
    return caf::make_error(errc::shutting_down,
                           "queue '" + spec.name
                             + "' is stopping and takes no new jobs");
  ++enqueued_total;
  auto id = x.id;
  log::debug(log_name, "job ", id, " enqueued for ", x.function_id);
  if (!store) {
    accept(std::move(x));
    return id;
  }
  // The receipt is a promise: send it only once the job is on disk.
  auto rp = self->make_response_promise<std::string>();
  self
    ->request(store, caf::infinite, atom::persist_v,
              store::make_write(store::store_write::kind::put, x))
    .then(
      [this, rp, x]() mutable {
        auto receipt = x.id;
        accept(std::move(x));
        rp.deliver(std::move(receipt));
      },
      [this, rp](caf::error& err) mutable {
        --enqueued_total;
        rp.deliver(caf::make_error(errc::store_failure,
                                   "the job could not be stored: "
                                     + caf::to_string(err)));
      });
  return rp;
}

void queue_state::on_requeue(job& x) {
  x.attempts = 0;
  x.last_error.clear();
  x.failed_at = 0;
  persist(store::store_write::kind::requeue, x);
  accept(std::move(x));
}

caf::result<uint64_t> queue_state::on_discard(const std::string& id) {
  auto rp = self->make_response_promise<uint64_t>();
  self->request(dead_letters, caf::infinite, atom::discard_v, id)
    .then(
      [this, rp, id](uint64_t n) mutable {
        if (n > 0) {
          job x;
          x.id = id;
          persist(store::store_write::kind::discard, x);
        }
        rp.deliver(n);
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

void queue_state::persist(store::store_write::kind op, const job& x,
                          int64_t due_at) {
  if (store)
    caf::anon_send(store, atom::persist_v, store::make_write(op, x, due_at));
}

void queue_state::accept(job&& x) {
  add_waiting(std::move(x));
  dispatch();
}

void queue_state::add_waiting(job&& x) {
  if (!fifo()) {
    ready.push_back(std::move(x));
    return;
  }
  auto group = x.group;
  auto& gs = groups[group];
  gs.jobs.push_back(std::move(x));
  ++fifo_jobs;
  if (!gs.running && !gs.backing_off) queue_group(group, gs, false);
}

// -- dispatching --------------------------------------------------------------

void queue_state::dispatch() {
  if (draining) return;
  if (fifo())
    dispatch_fifo();
  else
    dispatch_standard();
}

void queue_state::dispatch_standard() {
  while (!idle.empty() && !ready.empty()) {
    auto child = std::move(idle.back());
    idle.pop_back();
    auto x = std::move(ready.front());
    ready.pop_front();
    auto since = start_attempt(child, x);
    auto addr = child.address();
    busy.emplace(std::move(addr), running{std::move(x), since, std::move(child)});
  }
}

void queue_state::dispatch_fifo() {
  while (running_groups < spec.concurrency && !ready_groups.empty()) {
    auto group = std::move(ready_groups.front());
    ready_groups.pop_front();
    auto i = groups.find(group);
    if (i == groups.end()) continue;
    auto& gs = i->second;
    gs.queued = false;
    if (gs.jobs.empty() || gs.running || gs.backing_off) continue;
    if (!gs.actor) {
      gs.actor = spawn_child(group);
      group_of.emplace(gs.actor.address(), group);
    }
    gs.running = true;
    ++running_groups;
    gs.since = start_attempt(gs.actor, gs.jobs.front());
  }
}

std::chrono::steady_clock::time_point
queue_state::start_attempt(const caf::actor& child, const job& x) {
  self->send(child, attempt{x.id, x.attempts, x.function_id, x.payload,
                            spec.timeout_ms});
  arm_sweep();
  return self->clock().now(); // the actor clock: virtual time in tests
}

void queue_state::on_sweep() {
  sweep_armed = false;
  auto now = self->clock().now();
  auto limit = std::chrono::milliseconds(spec.timeout_ms);
  std::vector<std::pair<caf::actor_addr, attempt_done>> overdue;
  auto timed_out = [&](const job& x) {
    return attempt_done{x.id, x.attempts, false,
                        protocol::error_body_json(
                          "timeout", "Invocation of " + x.function_id
                                       + " timed out after "
                                       + std::to_string(spec.timeout_ms)
                                       + " ms")};
  };
  for (auto& [who, r] : busy)
    if (now - r.since >= limit) overdue.emplace_back(who, timed_out(r.x));
  for (auto& [who, group] : group_of) {
    auto& gs = groups[group];
    if (gs.running && now - gs.since >= limit)
      overdue.emplace_back(who, timed_out(gs.jobs.front()));
  }
  for (auto& [who, done] : overdue) finish_attempt(who, done);
  if (in_flight() > 0) arm_sweep();
}

void queue_state::arm_sweep() {
  if (sweep_armed) return;
  sweep_armed = true;
  // Timeouts are checked at 1/8 of timeout_ms (5 ms to 1 s): an attempt
  // fails within timeout_ms plus that much.
  auto tick = std::clamp<uint64_t>(spec.timeout_ms / 8, 5, 1000);
  self->delayed_send(self, std::chrono::milliseconds(tick), atom::sweep_v);
}

void queue_state::queue_group(const std::string& group, group_state& gs,
                              bool front) {
  if (gs.queued) return;
  gs.queued = true;
  if (front)
    ready_groups.push_front(group);
  else
    ready_groups.push_back(group);
}

// -- outcomes -----------------------------------------------------------------

bool queue_state::waiting_for_workers(const std::string& error_body) const {
  return self->clock().now() < grace_until
         && error_body.find("\"function_not_found\"") != std::string::npos
         && protocol::find_member(error_body, "code").value
              == "function_not_found";
}

int64_t queue_state::charge_failure(job& x, std::string&& error_body) {
  ++failed_attempts_total;
  x.last_error = std::move(error_body);
  if (x.attempts >= max_attempts(spec)) return -1;
  return static_cast<int64_t>(retry_delay_ms(spec, x.attempts));
}

void queue_state::to_dead_letters(job&& x) {
  ++dead_total;
  x.failed_at = now_ms();
  persist(store::store_write::kind::dead, x);
  if (log::enabled(log::level::warn)) {
    auto code = protocol::find_member(x.last_error, "code");
    auto msg = protocol::find_member(x.last_error, "message");
    log::warn(log_name, "job ", x.id, " moved to the dead-letter queue after ",
              x.attempts, " attempts; last error ", code.value, ": ",
              msg.value);
  }
  self->send(dead_letters, atom::park_v, std::move(x));
}

void queue_state::on_attempt_done(attempt_done& x) {
  finish_attempt(caf::actor_cast<caf::actor_addr>(self->current_sender()), x);
}

void queue_state::finish_attempt(const caf::actor_addr& sender,
                                 attempt_done& x) {
  if (!fifo()) {
    auto i = busy.find(sender);
    if (i == busy.end() || i->second.x.id != x.job_id
        || i->second.x.attempts != x.number)
      return; // a late answer to an attempt already timed out
    auto j = std::move(i->second.x);
    idle.push_back(std::move(i->second.child));
    busy.erase(i);
    auto grace = !x.ok && waiting_for_workers(x.body);
    if (!grace) ++j.attempts;
    if (x.ok) {
      ++succeeded_total;
      persist(store::store_write::kind::ack, j);
    } else if (grace) {
      ++delayed;
      self->delayed_send(self, startup_retry, atom::retry_v, std::move(j));
    } else if (auto delay = charge_failure(j, std::move(x.body)); delay >= 0) {
      ++delayed;
      persist(store::store_write::kind::retry, j, now_ms() + delay);
      self->delayed_send(self, std::chrono::milliseconds(delay),
                         atom::retry_v, std::move(j));
    } else {
      to_dead_letters(std::move(j));
    }
  } else {
    auto g = group_of.find(sender);
    if (g == group_of.end()) return;
    auto group = g->second;
    auto& gs = groups[group];
    if (!gs.running || gs.jobs.empty() || gs.jobs.front().id != x.job_id
        || gs.jobs.front().attempts != x.number)
      return; // a late answer to an attempt already timed out
    gs.running = false;
    --running_groups;
    auto& j = gs.jobs.front();
    auto grace = !x.ok && waiting_for_workers(x.body);
    if (!grace) ++j.attempts;
    if (x.ok) {
      ++succeeded_total;
      persist(store::store_write::kind::ack, j);
      gs.jobs.pop_front();
      --fifo_jobs;
      next_in_group(group, gs);
    } else if (grace) {
      gs.backing_off = true;
      ++delayed;
      self->delayed_send(self, startup_retry, atom::retry_v, group, j.id);
    } else if (auto delay = charge_failure(j, std::move(x.body)); delay >= 0) {
      // The group waits: later jobs of it must not overtake this one.
      gs.backing_off = true;
      ++delayed;
      persist(store::store_write::kind::retry, j, now_ms() + delay);
      self->delayed_send(self, std::chrono::milliseconds(delay),
                         atom::retry_v, group, j.id);
    } else {
      auto dead = std::move(j);
      gs.jobs.pop_front();
      --fifo_jobs;
      to_dead_letters(std::move(dead));
      next_in_group(group, gs);
    }
  }
  check_drained();
  dispatch();
}

void queue_state::next_in_group(const std::string& group, group_state& gs) {
  if (!gs.jobs.empty()) {
    queue_group(group, gs, false);
    return;
  }
  // An idle group: stop its actor (forgotten first, so its down message
  // does not count as a crash) and drop the group.
  if (gs.actor) {
    group_of.erase(gs.actor.address());
    self->demonitor(gs.actor);
    self->send_exit(gs.actor, caf::exit_reason::user_shutdown);
  }
  if (!gs.queued) groups.erase(group);
}

void queue_state::on_retry(job& x) {
  --delayed;
  ready.push_back(std::move(x));
  dispatch();
}

void queue_state::on_group_retry(const std::string& group,
                                 const std::string& job_id) {
  auto i = groups.find(group);
  if (i == groups.end()) return;
  auto& gs = i->second;
  if (!gs.backing_off || gs.jobs.empty() || gs.jobs.front().id != job_id)
    return;
  gs.backing_off = false;
  --delayed;
  queue_group(group, gs, false);
  dispatch();
}

// -- supervision --------------------------------------------------------------

void queue_state::on_child_down(const caf::down_msg& dm) {
  if (dm.source == dead_letters.address()) {
    log::error(log_name, "dead-letter actor stopped: ", caf::to_string(dm.reason));
    return;
  }
  if (!fifo()) {
    if (auto i = busy.find(dm.source); i != busy.end()) {
      log::warn(log_name, "delivery actor died (", caf::to_string(dm.reason),
                "); job ", i->second.x.id, " runs again, not charged");
      ready.push_front(std::move(i->second.x));
      busy.erase(i);
    } else {
      auto j = std::find_if(idle.begin(), idle.end(), [&](const caf::actor& a) {
        return a.address() == dm.source;
      });
      if (j == idle.end()) return;
      idle.erase(j);
      log::warn(log_name, "idle delivery actor died (",
                caf::to_string(dm.reason), ")");
    }
    idle.push_back(spawn_child({}));
  } else {
    auto g = group_of.find(dm.source);
    if (g == group_of.end()) return;
    auto group = g->second;
    group_of.erase(g);
    auto& gs = groups[group];
    gs.actor = nullptr;
    log::warn(log_name, "group actor of '", group, "' died (",
              caf::to_string(dm.reason), ")",
              gs.running ? "; its job runs again, not charged" : "");
    if (gs.running) {
      gs.running = false;
      --running_groups;
      queue_group(group, gs, true);
    }
  }
  check_drained();
  dispatch();
}

// -- introspection and stopping -----------------------------------------------

uint64_t queue_state::in_flight() const {
  return fifo() ? running_groups : busy.size();
}

uint64_t queue_state::waiting() const {
  return fifo() ? fifo_jobs - running_groups - delayed : ready.size();
}

queue_stats queue_state::local_stats() const {
  queue_stats s;
  s.queue = spec.name;
  s.waiting = waiting();
  s.in_flight = in_flight();
  s.delayed = delayed;
  s.enqueued_total = enqueued_total;
  s.succeeded_total = succeeded_total;
  s.failed_attempts_total = failed_attempts_total;
  s.dead_total = dead_total;
  return s;
}

caf::result<queue_stats> queue_state::on_stats() {
  auto rp = self->make_response_promise<queue_stats>();
  auto s = local_stats();
  self->request(dead_letters, caf::infinite, atom::count_v)
    .then([rp, s](uint64_t n) mutable {
            s.dlq = n;
            rp.deliver(s);
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

caf::result<void> queue_state::on_drain() {
  draining = true;
  if (in_flight() == 0) return caf::unit;
  drain_waiters.push_back(self->make_response_promise());
  return drain_waiters.back();
}

void queue_state::check_drained() {
  if (!draining || in_flight() > 0) return;
  for (auto& rp : drain_waiters) rp.deliver(caf::unit);
  drain_waiters.clear();
}

std::vector<caf::actor> queue_state::on_children() const {
  std::vector<caf::actor> out{idle.begin(), idle.end()};
  for (auto& kvp : busy) out.push_back(kvp.second.child);
  for (auto& kvp : groups)
    if (kvp.second.actor) out.push_back(kvp.second.actor);
  return out;
}

caf::behavior queue_actor(caf::stateful_actor<queue_state>* self,
                          queue_config q, queue_links links,
                          recovered_jobs recovered) {
  self->state.init(self, std::move(q), std::move(links));
  if (recovered) self->state.recover(*recovered);
  self->set_down_handler(
    [self](caf::down_msg& dm) { self->state.on_child_down(dm); });
  self->set_exit_handler(
    [self](caf::exit_msg& msg) { self->state.on_exit(msg); });
  return {
    [self](job& x) { return self->state.on_enqueue(x); },
    [self](atom::requeue, job& x) { self->state.on_requeue(x); },
    [self](attempt_done& x) { self->state.on_attempt_done(x); },
    [self](atom::sweep) { self->state.on_sweep(); },
    [self](atom::retry, job& x) { self->state.on_retry(x); },
    [self](atom::retry, const std::string& group, const std::string& id) {
      self->state.on_group_retry(group, id);
    },
    [self](atom::stats) { return self->state.on_stats(); },
    [self](atom::drain) { return self->state.on_drain(); },
    [self](atom::children) { return self->state.on_children(); },
    // Dead-letter operations go through the supervisor.
    [self](atom::list, uint64_t offset, uint64_t limit) {
      return self->delegate(self->state.dead_letters, atom::list_v, offset,
                            limit);
    },
    [self](atom::redrive) {
      return self->delegate(self->state.dead_letters, atom::redrive_v);
    },
    [self](atom::redrive, const std::string& id) {
      return self->delegate(self->state.dead_letters, atom::redrive_v, id);
    },
    [self](atom::discard, const std::string& id) {
      return self->state.on_discard(id);
    },
  };
}

} // namespace troupe
