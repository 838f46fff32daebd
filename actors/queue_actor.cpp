#include "actors/queue_actor.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <optional>
#include <unordered_map>

#include <caf/send.hpp>

#include "actors/dead_letter_actor.hpp"
#include "actors/delivery_actor.hpp"
#include "actors/fifo_dispatch.hpp"
#include "actors/standard_dispatch.hpp"
#include "actors/type_ids.hpp"
#include "base/errc.hpp"
#include "base/log.hpp"
#include "base/membership.hpp"
#include "protocol/frames.hpp"
#include "protocol/json_member.hpp"
#include "protocol/json_scan.hpp"

namespace troupe {

// -- setup and teardown -------------------------------------------------------

void queue_state::init(queue_actor_type::pointer self_ptr, queue_config q,
                       queue_links links) {
  self = self_ptr;
  spec = std::move(q);
  registry = std::move(links.registry);
  routes = std::move(links.routes);
  store = std::move(links.store);
  max_payload_bytes = links.max_payload_bytes;
  startup_grace = links.startup_grace;
  paused = links.paused;
  restarts = links.restarts;
  grace_until = self->clock().now() + startup_grace;
  log_name = "queue " + spec.name;
  if (paused)
    log::info(log_name, "paused (stored): no attempt starts until a resume");
  dead_letters = self->spawn(dead_letter_actor, spec.name,
                             caf::actor_cast<caf::actor>(self));
  if (spec.type == queue_type::fifo) {
    auto p = std::make_unique<fifo_dispatch>(*this);
    fifo = p.get();
    policy = std::move(p);
    clustered = links.clustered;
  } else {
    policy = std::make_unique<standard_dispatch>(*this);
  }
  if (clustered) {
    // Nothing runs before the node actor says which groups are ours.
    fifo->set_gate([this](const std::string& g) { return may_run(g); });
    self->delayed_send(self, startup_grace, atom::settled_v);
  }
}

caf::actor queue_state::spawn_child(const std::string& group) {
  return self->spawn<caf::monitored>(
    delivery_actor, caf::actor_cast<caf::actor>(self), registry, routes, group);
}

void queue_state::on_exit(const caf::exit_msg& msg) {
  // Children are monitored, not linked: take them down with us.
  policy->stop(msg.reason);
  self->send_exit(dead_letters, msg.reason);
  self->quit(msg.reason);
}

// -- accepting jobs -----------------------------------------------------------

namespace {

/// True if a stored payload is still what was enqueued: valid JSON (and so
/// valid UTF-8), or empty. A damaged row would otherwise go out in an
/// invokefunction frame that the SDK drops the connection for.
bool payload_intact(const std::string& payload) {
  // As deep as a payload may nest inside a frame (one level below it).
  return payload.empty()
         || protocol::json_scan::valid(payload, protocol::max_json_depth - 1);
}

} // namespace

void queue_state::recover(std::deque<store::stored_job>& jobs) {
  uint64_t waiting_n = 0;
  uint64_t delayed_n = 0;
  uint64_t dead_n = 0;
  uint64_t damaged_n = 0;
  uint64_t crashed_n = 0;
  auto now = now_ms();
  for (auto& s : jobs) {
    auto state = s.state;
    auto due_at = s.due_at;
    auto x = std::move(s.job);
    if (!payload_intact(x.payload)) {
      // Quarantined: its stored row keeps the damaged bytes; the DLQ entry
      // carries null and says why.
      ++damaged_n;
      log::error(log_name, "job ", x.id,
                 " has a damaged payload in the store (", x.payload.size(),
                 " bytes, not valid JSON); moved to the dead-letter queue");
      x.last_error = protocol::error_body_json(
        "damaged_payload", "the stored payload ("
                             + std::to_string(x.payload.size())
                             + " bytes) is not valid JSON: the store row was "
                               "damaged; it is kept there as it is");
      x.payload = "null";
      x.failed_at = now;
      if (state != store::job_state::dead) {
        ++dead_total;
        persist(store::store_write::kind::dead, x);
      }
      ++dead_n;
      self->send(dead_letters, atom::park_v, std::move(x));
      continue;
    }
    if (state == store::job_state::dead) {
      ++dead_n;
      self->send(dead_letters, atom::park_v, std::move(x));
      continue;
    }
    if (s.running && s.crashes + 1 >= spec.max_crash_recoveries) {
      // The engine died during this attempt as often as the queue allows:
      // charged, so that a job that crashes the engine ends in the DLQ.
      ++x.attempts;
      log::error(log_name, "job ", x.id, " was running at ", s.crashes + 1,
                 " engine crashes in a row; its attempt ", x.attempts,
                 " is charged as failed (engine_crash)");
      auto delay = charge_failure(
        x,
        protocol::error_body_json(
          "engine_crash", "the engine stopped without finishing attempt "
                            + std::to_string(x.attempts) + " of this job, "
                            + std::to_string(s.crashes + 1)
                            + " times in a row (max_crash_recoveries "
                            + std::to_string(spec.max_crash_recoveries) + ")"));
      if (delay < 0) {
        ++dead_n;
        to_dead_letters(std::move(x));
        continue;
      }
      persist(store::store_write::kind::retry, x, now + delay);
      state = store::job_state::delayed;
      due_at = now + delay;
    } else if (s.running) {
      ++crashed_n;
      persist(store::store_write::kind::crashed, x);
    }
    auto wait = std::chrono::milliseconds(std::max<int64_t>(0, due_at - now));
    if (state == store::job_state::delayed && policy->add_delayed(x, wait)) {
      ++delayed_n;
      ++delayed;
      continue;
    }
    ++waiting_n;
    policy->add_waiting(std::move(x));
  }
  jobs.clear();
  if (waiting_n + delayed_n + dead_n > 0)
    log::info(log_name, "recovered ", waiting_n, " waiting (with those in ",
              "flight at the last stop), ", delayed_n, " delayed, ", dead_n,
              " dead",
              damaged_n > 0
                ? " (" + std::to_string(damaged_n) + " of them damaged)"
                : std::string{});
  if (crashed_n > 0)
    log::warn(log_name, crashed_n, " job(s) were running when the engine ",
              "last stopped without finishing them; they run again, not ",
              "charged (up to max_crash_recoveries ", spec.max_crash_recoveries,
              " times)");
  dispatch();
}

caf::result<std::string> queue_state::on_enqueue(enqueue& x) {
  auto made = make_job(spec, max_payload_bytes, std::move(x.function_id),
                       std::move(x.payload));
  if (!made) return std::move(made.error());
  return on_enqueue(*made);
}

caf::result<std::string> queue_state::on_enqueue(job& x) {
  if (!clustered || node_name.empty() || draining) return accept_here(x);
  auto owner = owner_of(x.group);
  // Kept here: our own group; a group whose owner is away (it waits for
  // the owner's older jobs); or one whose jobs here go to the owner first.
  if (owner == node_name || !is_up(owner) || fifo->has_jobs(x.group))
    return accept_here(x);
  // The group's owner stores the job and answers with the receipt.
  log::debug(log_name, "job ", x.id, " of group ", x.group, " goes to ", owner);
  auto rp = self->make_response_promise<std::string>();
  self->request(node, caf::infinite, atom::fwdenq_v, owner, std::move(x))
    .then([rp](std::string& receipt) mutable { rp.deliver(receipt); },
          [rp, owner](caf::error& err) mutable {
            if (err.category() == caf::atom("troupe")) {
              rp.deliver(std::move(err));
              return;
            }
            // E.g. the owner's peer ended just before the view changed.
            rp.deliver(caf::make_error(
              errc::enqueue_rejected,
              "node " + owner
                + ", which owns the job's group, was lost "
                  "before it confirmed the job; enqueue it again"));
          });
  return rp;
}

void queue_state::on_members(std::string& self_name,
                             std::vector<std::string>& up,
                             std::vector<std::string>& all_owners) {
  node = caf::actor_cast<caf::actor>(self->current_sender());
  node_name = std::move(self_name);
  view = std::move(up);
  if (!joined && view.size() > 1) {
    joined = true;
    grace_until = std::max(grace_until, self->clock().now() + startup_grace);
  }
  if (!clustered) return;
  if (joined) hold_over = true;
  if (owners != all_owners) {
    owners = std::move(all_owners);
    log::debug(log_name, "group owners now ", owners.size(), " nodes");
  }
  for (auto i = settled_by.begin(); i != settled_by.end();)
    i = is_up(i->first) ? std::next(i) : settled_by.erase(i);
  settled_to.clear(); // told again under this view
  rebalance();
  update_gate();
}

caf::result<std::string> queue_state::on_handover(job& x) {
  if (!fifo) // a standard queue never hands jobs over
    return caf::make_error(errc::enqueue_rejected,
                           "queue '" + spec.name + "' is not a FIFO queue");
  // Handed over before, and the sender did not get our answer.
  if (fifo->contains(x.group, x.id) || handed_here.count(x.id) > 0) return x.id;
  if (auto i = adopting.find(x.id); i != adopting.end()) {
    auto rp = self->make_response_promise<std::string>();
    i->second.push_back(rp);
    return rp;
  }
  return accept_here(x, true);
}

void queue_state::remember_handover(const std::string& id) {
  if (!handed_here.insert(id).second) return;
  handed_here_order.push_back(id);
  if (handed_here_order.size() > max_remembered_handovers) {
    handed_here.erase(handed_here_order.front());
    handed_here_order.pop_front();
  }
}

void queue_state::on_settled(const std::string& from,
                             std::vector<std::string>& under) {
  if (!clustered) return;
  settled_by[from] = std::move(under);
  update_gate();
}

void queue_state::on_hold_over() {
  if (!clustered || hold_over) return;
  hold_over = true;
  if (!joined)
    log::warn(log_name, "no other node joined within the start-up grace "
                        "period; FIFO groups run by the members known so far");
  update_gate();
}

bool queue_state::gate_open() const {
  return hold_over && !node_name.empty() && settled();
}

bool queue_state::may_run(const std::string& group) const {
  return gate_open() && owner_of(group) == node_name;
}

void queue_state::update_gate() {
  auto open = gate_open();
  fifo->set_fresh(!open);
  if (!open) return;
  fifo->reopen();
  dispatch();
}

std::string queue_state::owner_of(const std::string& group) const {
  if (owners.empty()) return node_name;
  return fifo_owner(owners, spec.name, group);
}

bool queue_state::is_up(const std::string& name) const {
  return std::binary_search(view.begin(), view.end(), name);
}

bool queue_state::settled() const {
  for (auto& m : view) {
    if (m == node_name) continue;
    auto i = settled_by.find(m);
    if (i == settled_by.end() || i->second != owners) return false;
  }
  return true;
}

void queue_state::rebalance() {
  if (!clustered || node_name.empty()) return;
  std::vector<std::pair<std::string, std::string>> leaving;
  std::map<std::string, std::pair<size_t, size_t>> away; // groups, jobs
  fifo->for_each_group([&](const std::string& g, size_t n) {
    auto o = owner_of(g);
    if (o == node_name) return;
    if (is_up(o)) {
      leaving.emplace_back(g, o);
      return;
    }
    auto& a = away[o];
    ++a.first;
    a.second += n;
  });
  for (auto& [o, a] : away)
    log::info(log_name, a.first, " groups (", a.second, " jobs) wait here for ",
              o, ", which owns them and is away");
  size_t n_groups = 0;
  for (auto& [g, o] : leaving) {
    if (fifo->running(g)) {
      moving.insert(g); // after its attempt
      continue;
    }
    hand_over(g, o);
    ++n_groups;
  }
  if (n_groups > 0)
    log::info(log_name, "handed ", n_groups, " groups over to their owners");
  send_settled();
}

void queue_state::move_finished() {
  if (moving.empty()) return;
  for (auto i = moving.begin(); i != moving.end();) {
    if (fifo->running(*i)) {
      ++i;
      continue;
    }
    auto g = *i;
    i = moving.erase(i);
    auto o = owner_of(g);
    if (o != node_name && is_up(o)) hand_over(g, o);
  }
  send_settled();
}

void queue_state::hand_over(const std::string& group, const std::string& to) {
  bool was_delayed = false;
  auto jobs = fifo->take(group, was_delayed);
  if (was_delayed && delayed > 0) --delayed;
  moving.erase(group);
  waiting_logged.erase(group);
  if (jobs.empty()) return;
  log::debug(log_name, "group ", group, ": ", jobs.size(), " jobs go to ", to);
  for (auto& j : jobs) {
    attempt_logs.erase(j.id);
    handed_here.erase(j.id); // it may come back, and must run then
  }
  auto& transit = in_transit[group];
  for (auto& j : jobs) {
    auto id = j.id;
    transit.push_back(j);
    self->request(node, caf::infinite, atom::handover_v, to, std::move(j))
      .then(
        [this, group, id](std::string&) {
          auto i = in_transit.find(group);
          if (i == in_transit.end()) return;
          auto& q = i->second;
          auto k = std::find_if(q.begin(), q.end(),
                                [&](const job& x) { return x.id == id; });
          if (k == q.end()) return;
          persist(store::store_write::kind::ack, *k);
          q.erase(k);
          if (q.empty()) in_transit.erase(i);
        },
        [this, group, id](caf::error& err) {
          handover_failed(group, id, err);
        });
  }
}

void queue_state::handover_failed(const std::string& group,
                                  const std::string& id,
                                  const caf::error& err) {
  auto i = in_transit.find(group);
  if (i == in_transit.end()) return;
  auto& q = i->second;
  auto k = std::find_if(q.begin(), q.end(),
                        [&](const job& x) { return x.id == id; });
  if (k == q.end()) return; // went back with an earlier one
  std::deque<job> back(std::make_move_iterator(k),
                       std::make_move_iterator(q.end()));
  q.erase(k, q.end());
  if (q.empty()) in_transit.erase(i);
  log::warn(log_name, "group ", group, ": ", back.size(),
            " jobs could not be handed over (", error_text(err),
            "); they are kept here until the owner is back");
  fifo->put_back(group, std::move(back));
  dispatch();
}

void queue_state::send_settled() {
  if (!node) return;
  for (auto& m : view) {
    if (m == node_name || settled_to.count(m) > 0) continue;
    auto pending
      = std::any_of(moving.begin(), moving.end(),
                    [&](const std::string& g) { return owner_of(g) == m; });
    if (pending) continue;
    settled_to.insert(m);
    caf::anon_send(node, atom::settled_v, spec.name, m, owners);
  }
}

caf::result<std::string> queue_state::accept_here(job& x, bool adopted) {
  if (draining)
    return caf::make_error(errc::shutting_down,
                           "queue '" + spec.name
                             + "' is stopping and takes no new jobs");
  if (!adopted) ++enqueued_total; // counted where it was enqueued
  auto id = x.id;
  log::debug(log_name, "job ", id, adopted ? " handed over" : " enqueued",
             " for ", x.function_id);
  if (!store) {
    if (adopted) remember_handover(id);
    accept(std::move(x), adopted);
    return id;
  }
  // The receipt is a promise: send it only once the job is on disk.
  auto rp = self->make_response_promise<std::string>();
  auto op = adopted ? store::store_write::kind::adopt
                    : store::store_write::kind::put;
  if (adopted) adopting[id];
  // Repeats of a handover get its answer too.
  auto repeats = [this, adopted, id] {
    std::vector<caf::typed_response_promise<std::string>> r;
    if (!adopted) return r;
    if (auto i = adopting.find(id); i != adopting.end()) {
      r = std::move(i->second);
      adopting.erase(i);
    }
    return r;
  };
  self->request(store, caf::infinite, atom::persist_v, store::make_write(op, x))
    .then(
      [this, rp, x, adopted, repeats]() mutable {
        auto receipt = x.id;
        if (adopted) remember_handover(receipt);
        accept(std::move(x), adopted);
        for (auto& r : repeats()) r.deliver(receipt);
        rp.deliver(std::move(receipt));
      },
      [this, rp, adopted, repeats](caf::error& err) mutable {
        if (!adopted) --enqueued_total;
        auto e = caf::make_error(errc::store_failure,
                                 "the job could not be stored: "
                                   + caf::to_string(err));
        for (auto& r : repeats()) r.deliver(e);
        rp.deliver(std::move(e));
      });
  return rp;
}

void queue_state::on_requeue(job& x) {
  ++redriven_total;
  x.attempts = 0;
  x.last_error.clear();
  x.failed_at = 0;
  persist(store::store_write::kind::requeue, x);
  accept(std::move(x), false);
}

caf::result<uint64_t> queue_state::on_discard(const std::string& id) {
  auto rp = self->make_response_promise<uint64_t>();
  self->request(dead_letters, caf::infinite, atom::discard_v, id)
    .then(
      [this, rp, id](uint64_t n) mutable {
        if (n > 0) {
          ++discarded_total;
          job x;
          x.id = id;
          persist(store::store_write::kind::discard, x);
          attempt_logs.erase(id);
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

void queue_state::accept(job&& x, bool handed) {
  if (handed) {
    fifo->add_handed(std::move(x));
  } else if (clustered && !node_name.empty()) {
    auto group = x.group;
    policy->add_waiting(std::move(x));
    auto o = owner_of(group);
    if (o != node_name) {
      if (is_up(o) && !fifo->running(group)) {
        hand_over(group, o);
      } else if (!is_up(o) && waiting_logged.insert(group).second) {
        log::info(log_name, "group ", group, " waits for ", o,
                  ", which owns it and is away; its jobs are kept here");
      }
    }
  } else {
    policy->add_waiting(std::move(x));
  }
  dispatch();
}

// -- dispatching --------------------------------------------------------------

void queue_state::dispatch() {
  if (!draining && !paused && !respawn_held) policy->dispatch();
}

std::chrono::steady_clock::time_point
queue_state::start_attempt(const caf::actor& child, const job& x) {
  // Children are dynamically typed: they answer the supervisor by name.
  // Marks the job running in the store: if the engine dies before the
  // attempt ends, recovery knows the crash cut it off.
  persist(store::store_write::kind::start, x);
  caf::anon_send(child, attempt{x.id, x.attempts, x.function_id, x.payload,
                                spec.timeout_ms});
  if (log_attempt_start(x) && x.attempts == 0)
    wait_hist.observe(metrics::wait_seconds,
                      static_cast<double>(now_ms() - x.enqueued_at) / 1000.0);
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
                          "timeout",
                          "Invocation of " + x.function_id + " timed out after "
                            + std::to_string(spec.timeout_ms) + " ms")};
  };
  policy->for_each_running([&](const caf::actor_addr& who, const job& x,
                               caf::actor_clock::time_point since) {
    if (now - since >= limit) overdue.emplace_back(who, timed_out(x));
  });
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
  dead_hist.observe(metrics::completion_seconds,
                    static_cast<double>(x.failed_at - x.enqueued_at) / 1000.0);
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
  if (!policy->finish(sender, x)) return;
  check_drained();
  move_finished();
  dispatch();
}

queue_state::verdict queue_state::settle(job& j, attempt_done& x) {
  auto grace = !x.ok && waiting_for_workers(x.body);
  if (!grace) ++j.attempts;
  if (x.ok) {
    ++succeeded_total;
    count_attempt(j.function_id, metrics::attempt_result::ok,
                  attempt_seconds(j.id));
    succeeded_hist.observe(metrics::completion_seconds,
                           static_cast<double>(now_ms() - j.enqueued_at)
                             / 1000.0);
    persist(store::store_write::kind::ack, j);
    attempt_logs.erase(j.id);
    return {verdict::succeeded};
  }
  count_attempt(
    j.function_id,
    metrics::classify_error(protocol::find_member(x.body, "code").value),
    attempt_seconds(j.id));
  log_attempt_end(j.id, false, x.body);
  if (grace) {
    ++delayed;
    return {verdict::retry, startup_retry};
  }
  auto delay = charge_failure(j, std::move(x.body));
  if (delay < 0) return {verdict::dead};
  ++delayed;
  persist(store::store_write::kind::retry, j, now_ms() + delay);
  return {verdict::retry, std::chrono::milliseconds(delay)};
}

void queue_state::on_group_retry(const std::string& group,
                                 const std::string& job_id) {
  if (!policy->retry(group, job_id)) return;
  --delayed;
  dispatch();
}

// -- supervision --------------------------------------------------------------

void queue_state::on_child_down(const caf::down_msg& dm) {
  if (dm.source == dead_letters.address()) {
    log::error(log_name,
               "dead-letter actor stopped: ", caf::to_string(dm.reason));
    return;
  }
  if (!policy->child_down(dm)) return;
  count_child_death();
  check_drained();
  move_finished();
  dispatch();
}

void queue_state::count_child_death() {
  auto now = self->clock().now();
  child_deaths.push_back(now);
  while (!child_deaths.empty() && now - child_deaths.front() > restarts.window)
    child_deaths.pop_front();
  if (child_deaths.size() <= restarts.max_restarts) {
    if (!respawn_held) respawn_pause = std::chrono::milliseconds{0};
    return;
  }
  if (respawn_held) return;
  respawn_held = true;
  respawn_pause = respawn_pause.count() == 0
                    ? restarts.first_pause
                    : std::min(respawn_pause * 2, restarts.max_pause);
  log::error(log_name, "delivery actors died ", child_deaths.size(),
             " times within ", restarts.window.count(), " ms (at most ",
             restarts.max_restarts,
             " allowed); no job is dispatched and no actor replaced for ",
             respawn_pause.count(), " ms");
  self->delayed_send(self, respawn_pause, atom::respawn_v);
}

void queue_state::on_respawn() {
  if (!respawn_held) return;
  respawn_held = false;
  log::info(log_name, "dispatching again after a pause of ",
            respawn_pause.count(), " ms for dying delivery actors");
  dispatch();
}

// -- introspection and stopping -----------------------------------------------

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
  s.paused = paused;
  if (clustered && !node_name.empty()) {
    fifo->for_each_group([&](const std::string& g, size_t n) {
      auto o = owner_of(g);
      if (o == node_name) return;
      s.held += n;
      ++s.waiting_on[o];
    });
    s.waiting = s.waiting > s.held ? s.waiting - s.held : 0;
  }
  return s;
}

caf::result<queue_stats> queue_state::on_stats() {
  auto rp = self->make_response_promise<queue_stats>();
  auto s = local_stats();
  self->request(dead_letters, caf::infinite, atom::count_v)
    .then(
      [rp, s](uint64_t n) mutable {
        s.dlq = n;
        rp.deliver(s);
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

caf::result<metrics::queue_metrics> queue_state::on_metrics() {
  metrics::queue_metrics m;
  m.queue = spec.name;
  m.type = spec.type == queue_type::fifo ? "fifo" : "standard";
  m.group_field = spec.message_group_field;
  m.concurrency = spec.concurrency;
  m.paused = paused;
  auto s = local_stats();
  m.waiting = s.waiting;
  m.in_flight = s.in_flight;
  m.delayed = s.delayed;
  // A scan of what the policy holds: a scrape is rare, an enqueue is not.
  policy->for_each_job([&](const job_view& x, job_status state, int64_t) {
    if (state == job_status::waiting
        && (m.oldest_waiting_ms == 0 || x.enqueued_at() < m.oldest_waiting_ms))
      m.oldest_waiting_ms = x.enqueued_at();
  });
  m.enqueued = enqueued_total;
  m.dead_lettered = dead_total;
  m.redriven = redriven_total;
  m.discarded = discarded_total;
  m.functions = attempts_by_fn;
  m.wait = wait_hist;
  m.succeeded = succeeded_hist;
  m.dead_after = dead_hist;
  auto rp = self->make_response_promise<metrics::queue_metrics>();
  self->request(dead_letters, caf::infinite, atom::count_v)
    .then(
      [rp, m](uint64_t n) mutable {
        m.dead = n;
        rp.deliver(std::move(m));
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

void queue_state::count_attempt(const std::string& function_id,
                                metrics::attempt_result r, double seconds) {
  auto i = function_slots.slot(function_id);
  if (i >= attempts_by_fn.size()) {
    attempts_by_fn.resize(i + 1);
    attempts_by_fn[i].function = function_slots.name(i);
  }
  auto& f = attempts_by_fn[i];
  ++f.results[static_cast<size_t>(r)];
  f.duration.observe(metrics::attempt_seconds, seconds);
}

double queue_state::attempt_seconds(const std::string& id) const {
  auto i = attempt_logs.find(id);
  if (i == attempt_logs.end() || i->second.empty()) return 0;
  auto& e = i->second.back();
  if (e.rec.duration_ms >= 0) return 0;
  return std::chrono::duration<double>(self->clock().now() - e.since).count();
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
  std::vector<caf::actor> out;
  policy->children(out);
  return out;
}

// -- operations (engine::queue::job, jobs, groups, pause, retry_now) ----------

namespace {

/// Larger error bodies are kept in an attempts log as their code and the
/// start of their message, so that a log stays small.
constexpr size_t max_logged_error = 2048;

} // namespace

bool queue_state::log_attempt_start(const job& x) {
  auto& entries = attempt_logs[x.id];
  auto first = entries.empty();
  auto now = self->clock().now();
  if (!entries.empty() && entries.back().rec.duration_ms < 0) {
    // Its child died: the attempt ran again, not charged.
    auto& open = entries.back();
    open.rec.duration_ms
      = std::chrono::duration_cast<std::chrono::milliseconds>(now - open.since)
          .count();
    open.rec.error = protocol::error_body_json(
      "attempt_lost", "the delivery actor stopped; the attempt ran again, "
                      "not charged");
  }
  attempt_entry e;
  e.rec.number = x.attempts + 1;
  e.rec.started_at = now_ms();
  e.since = now;
  entries.push_back(std::move(e));
  while (entries.size() > max_attempt_records) entries.pop_front();
  return first;
}

void queue_state::log_attempt_end(const std::string& id, bool ok,
                                  const std::string& body) {
  auto i = attempt_logs.find(id);
  if (i == attempt_logs.end() || i->second.empty()) return;
  auto& e = i->second.back();
  if (e.rec.duration_ms >= 0) return;
  e.rec.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        self->clock().now() - e.since)
                        .count();
  e.rec.ok = ok;
  if (ok) return;
  if (body.size() <= max_logged_error) {
    e.rec.error = body;
    return;
  }
  auto code = protocol::find_member(body, "code").value;
  auto msg = protocol::find_member(body, "message").value;
  if (msg.size() > max_logged_error / 2) msg.resize(max_logged_error / 2);
  e.rec.error = protocol::error_body_json(code.empty() ? "error" : code,
                                          msg + " (cut)");
}

job_status queue_state::status_of(const std::string& group,
                                  job_status state) const {
  if (state == job_status::waiting && clustered && !node_name.empty()
      && owner_of(group) != node_name)
    return job_status::held;
  return state;
}

job_info queue_state::lookup_info(const job& x, job_status state,
                                  int64_t due_at) const {
  auto out = describe_job(x, state, due_at, true);
  out.max_attempts = max_attempts(spec);
  if (auto i = attempt_logs.find(x.id); i != attempt_logs.end())
    for (auto& e : i->second) out.attempts_log.push_back(e.rec);
  return out;
}

caf::result<job_info> queue_state::on_lookup(const std::string& id) {
  std::optional<job> found;
  auto state = job_status::waiting;
  int64_t due_at = 0;
  policy->for_each_job([&](const job_view& x, job_status st, int64_t due) {
    if (found || x.id() != id) return;
    found = x.to_job();
    state = status_of(x.group(), st);
    due_at = due;
  });
  if (found) return lookup_info(*found, state, due_at);
  auto rp = self->make_response_promise<job_info>();
  self->request(dead_letters, caf::infinite, atom::lookup_v, id)
    .then(
      [this, rp](job& x) mutable {
        rp.deliver(lookup_info(x, job_status::dead, 0));
      },
      [this, rp, id](caf::error&) mutable {
        rp.deliver(caf::make_error(errc::job_not_found,
                                   "Job " + id + " not found in queue '"
                                     + spec.name + "'"));
      });
  return rp;
}

caf::result<job_page> queue_state::on_jobs(job_status state, uint64_t offset,
                                           uint64_t limit) {
  auto max = max_attempts(spec);
  if (state == job_status::dead) {
    auto rp = self->make_response_promise<job_page>();
    self->request(dead_letters, caf::infinite, atom::jobs_v, offset, limit)
      .then(
        [rp, max](job_page& page) mutable {
          for (auto& x : page.jobs) x.max_attempts = max;
          rp.deliver(std::move(page));
        },
        [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
    return rp;
  }
  // Two passes: the jobs in `state`, sorted by a key, numbered in the order
  // the policy shows them; then the page's jobs, copied by their numbers.
  struct entry {
    int64_t key; // due_at when delayed, else enqueued_at
    size_t n;
  };
  std::vector<entry> all;
  size_t n = 0;
  policy->for_each_job([&](const job_view& x, job_status st, int64_t due) {
    if (status_of(x.group(), st) != state) return;
    all.push_back({state == job_status::delayed ? due : x.enqueued_at(), n++});
  });
  std::stable_sort(all.begin(), all.end(),
                   [](auto& a, auto& b) { return a.key < b.key; });
  job_page page;
  page.queue = spec.name;
  page.state = state;
  page.total = all.size();
  page.offset = offset;
  page.limit = limit;
  // Page position of each numbered job on the page.
  std::unordered_map<size_t, size_t> wanted;
  for (uint64_t i = offset; i < all.size() && i - offset < limit; ++i)
    wanted.emplace(all[i].n, i - offset);
  page.jobs.resize(wanted.size());
  n = 0;
  policy->for_each_job([&](const job_view& x, job_status st, int64_t due) {
    if (wanted.empty() || status_of(x.group(), st) != state) return;
    auto i = wanted.find(n++);
    if (i == wanted.end()) return;
    auto& out = page.jobs[i->second];
    out = describe_job(x.to_job(), state, due, false);
    out.max_attempts = max;
    wanted.erase(i);
  });
  return page;
}

caf::result<group_page> queue_state::on_groups(uint64_t offset,
                                               uint64_t limit) {
  if (!fifo)
    return caf::make_error(errc::invalid_argument,
                           "queue '" + spec.name
                             + "' is a standard queue; only FIFO queues "
                               "have groups");
  auto all = fifo->groups();
  for (auto& g : all)
    g.held = clustered && !node_name.empty() && owner_of(g.group) != node_name;
  // Blocked first (soonest retry first), then running, then by name.
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    if (a.blocked_by_retry != b.blocked_by_retry) return a.blocked_by_retry;
    if (a.blocked_by_retry && a.next_attempt_at != b.next_attempt_at)
      return a.next_attempt_at < b.next_attempt_at;
    if (a.running != b.running) return a.running;
    return a.group < b.group;
  });
  group_page page;
  page.queue = spec.name;
  page.total = all.size();
  page.offset = offset;
  page.limit = limit;
  for (uint64_t i = offset; i < all.size() && i - offset < limit; ++i)
    page.groups.push_back(std::move(all[i]));
  return page;
}

caf::result<bool> queue_state::on_pause(bool on) {
  if (paused != on)
    log::info(log_name, on ? "paused: running attempts finish, no new one "
                             "starts"
                           : "resumed");
  paused = on;
  dispatch();
  if (!store) return paused;
  auto rp = self->make_response_promise<bool>();
  self
    ->request(store, caf::infinite, atom::persist_v,
              store::make_pause_write(spec.name, on))
    .then([rp, on]() mutable { rp.deliver(on); },
          [this, rp, on](caf::error& err) mutable {
            log::error(log_name, "the ", on ? "pause" : "resume",
                       " could not be stored: ", caf::to_string(err));
            rp.deliver(caf::make_error(
              errc::store_failure, std::string{"the queue is "}
                                     + (on ? "paused" : "resumed")
                                     + " but that could not be stored, so a "
                                       "restart may undo it: "
                                     + caf::to_string(err)));
          });
  return rp;
}

uint64_t queue_state::on_retry_now(const std::string& id) {
  auto x = policy->retry_now(id);
  if (!x) return 0;
  if (delayed > 0) --delayed;
  log::debug(log_name, "job ", id, " retried now");
  // After a restart it runs at once too.
  persist(store::store_write::kind::retry, *x, now_ms());
  dispatch();
  return 1;
}

queue_actor_type::behavior_type
queue_actor(queue_actor_type::stateful_pointer<queue_state> self,
            queue_config q, queue_links links, recovered_jobs recovered) {
  self->state.init(self, std::move(q), std::move(links));
  if (recovered) self->state.recover(*recovered);
  self->set_down_handler(
    [self](caf::down_msg& dm) { self->state.on_child_down(dm); });
  self->set_exit_handler(
    [self](caf::exit_msg& msg) { self->state.on_exit(msg); });
  return {
    [self](enqueue& x) { return self->state.on_enqueue(x); },
    [self](job& x) { return self->state.on_enqueue(x); },
    [self](atom::fwdenq, job& x) { return self->state.accept_here(x); },
    [self](atom::members, std::string& name, std::vector<std::string>& up,
           std::vector<std::string>& owners) {
      self->state.on_members(name, up, owners);
    },
    [self](atom::handover, job& x) { return self->state.on_handover(x); },
    [self](atom::settled, const std::string& from,
           std::vector<std::string>& under) {
      self->state.on_settled(from, under);
    },
    [self](atom::settled) { self->state.on_hold_over(); },
    [self](atom::requeue, job& x) { self->state.on_requeue(x); },
    [self](attempt_done& x) { self->state.on_attempt_done(x); },
    [self](atom::sweep) { self->state.on_sweep(); },
    [self](atom::respawn) { self->state.on_respawn(); },
    [self](atom::retry, const std::string& group, const std::string& id) {
      self->state.on_group_retry(group, id);
    },
    [self](atom::stats) { return self->state.on_stats(); },
    [self](atom::drain) { return self->state.on_drain(); },
    [self](atom::children) { return self->state.on_children(); },
    [self](atom::metrics) { return self->state.on_metrics(); },
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
    [self](atom::lookup, const std::string& id) {
      return self->state.on_lookup(id);
    },
    [self](atom::jobs, job_status state, uint64_t offset, uint64_t limit) {
      return self->state.on_jobs(state, offset, limit);
    },
    [self](atom::groups, uint64_t offset, uint64_t limit) {
      return self->state.on_groups(offset, limit);
    },
    [self](atom::pause) { return self->state.on_pause(true); },
    [self](atom::resume) { return self->state.on_pause(false); },
    [self](atom::retrynow, const std::string& id) {
      return self->state.on_retry_now(id);
    },
  };
}

} // namespace troupe
