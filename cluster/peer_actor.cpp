#include "cluster/peer_actor.hpp"

#include <chrono>

#include <caf/sec.hpp>

#include "actors/call_error.hpp"
#include "actors/type_ids.hpp"
#include "base/errc.hpp"
#include "base/log.hpp"
#include "cluster/cluster_type_ids.hpp"

namespace troupe {

namespace {

/// How long a forwarded call may take when the caller set no limit: the
/// node's loss ends it sooner (on_node_down), so this only bounds the
/// bookkeeping of a call nobody answers.
constexpr auto unbounded_call = std::chrono::milliseconds(24 * 3600 * 1000);

/// How often calls in flight are checked against their deadlines: one
/// timer per peer instead of a request timeout per call, which would cost
/// the clock thread an insert and a cancel for every call.
constexpr auto sweep_interval = std::chrono::seconds(1);

/// Answers the open promise `id` of `open` with `x` and forgets it; an
/// answer for a promise already answered (or failed) finds nothing.
template <class T>
void settle(std::unordered_map<uint64_t, caf::response_promise>& open,
            uint64_t id, T&& x) {
  auto i = open.find(id);
  if (i == open.end()) return;
  i->second.deliver(std::forward<T>(x));
  open.erase(i);
}

} // namespace

caf::result<invoke_result> peer_state::on_invoke(invoke& x) {
  auto rp = self->make_response_promise<invoke_result>();
  if (outbox.empty()) self->send(self, atom::flush_v);
  if (!rp.pending()) {
    // A Void call: nobody waits for an answer, the remote node sends none.
    outbox.push_back(remote_call{0, false, std::move(x)});
    return rp;
  }
  auto id = ++next_call;
  auto limit = x.timeout_ms > 0 ? std::chrono::milliseconds(x.timeout_ms)
                                    + std::chrono::seconds(1)
                                : unbounded_call;
  pending.emplace(id, pending_call{rp, self->clock().now() + limit,
                                   x.function_id, x.timeout_ms});
  outbox.push_back(remote_call{id, true, std::move(x)});
  if (!sweep_armed) {
    sweep_armed = true;
    self->delayed_send(self, sweep_interval, atom::sweep_v);
  }
  return rp;
}

void peer_state::on_flush() {
  if (outbox.empty()) return;
  self->send(remote, call_batch{std::move(outbox)});
  outbox.clear();
}

void peer_state::on_results(result_batch& b) {
  for (auto& r : b.results) {
    auto i = pending.find(r.id);
    if (i == pending.end()) continue; // timed out meanwhile
    i->second.promise.deliver(std::move(r.result));
    pending.erase(i);
  }
  if (b.refused.empty()) return;
  // Its functions go first (the registry then picks another provider, or
  // answers function_not_found), then the calls again; their answers go
  // straight to the callers, whatever happens to the leaving node.
  on_withdraw();
  for (auto& c : b.refused) {
    auto i = pending.find(c.id);
    if (i == pending.end()) continue;
    auto promise = std::move(i->second.promise);
    pending.erase(i);
    promise.delegate(registry, std::move(c.call));
  }
}

void peer_state::on_sweep() {
  sweep_armed = false;
  auto now = self->clock().now();
  for (auto i = pending.begin(); i != pending.end();) {
    if (i->second.deadline <= now) {
      i->second.promise.deliver(
        request_failure(caf::make_error(caf::sec::request_timeout),
                        i->second.function_id, i->second.timeout_ms));
      i = pending.erase(i);
    } else {
      ++i;
    }
  }
  if (!pending.empty()) {
    sweep_armed = true;
    self->delayed_send(self, sweep_interval, atom::sweep_v);
  }
}

caf::result<std::string> peer_state::on_forward(job& x, bool handover) {
  auto rp = self->make_response_promise<std::string>();
  auto id = next_call++;
  pending_jobs.emplace(id, rp);
  auto msg = handover ? caf::make_message(atom::handover_v, std::move(x))
                      : caf::make_message(atom::fwdenq_v, std::move(x));
  self->request(remote, unbounded_call, std::move(msg))
    .then(
      [this, id](std::string& receipt) {
        settle(pending_jobs, id, std::move(receipt));
      },
      [this, id](caf::error& err) {
        settle(pending_jobs, id, std::move(err));
      });
  return rp;
}

void peer_state::on_update(fn_update& u) {
  for (auto& f : u.added) {
    functions.insert(f.id);
    self->send(registry, register_function{f.id, caf::actor{self},
                                           std::move(f.description),
                                           std::move(f.metadata), node});
  }
  for (auto& id : u.removed) {
    if (functions.erase(id) == 0) continue;
    self->send(registry, unregister_function{id, caf::actor{self}});
  }
}

void peer_state::on_routes(http_update& u) {
  for (auto& id : u.removed) {
    if (routes.erase(id) == 0 || !router) continue;
    self->send(router, atom::httproute_v,
               unregister_trigger{id, caf::actor{self}, node});
  }
  for (auto& r : u.added) {
    auto& kept = routes[r.id];
    kept = std::move(r);
    if (router)
      self->send(router, atom::httproute_v,
                 register_trigger{kept.id, "http", kept.function_id,
                                  kept.config, kept.metadata, caf::actor{self},
                                  node});
  }
}

void peer_state::on_router(caf::actor r) {
  if (!r || r == router) return;
  router = std::move(r);
  for (auto& [id, kept] : routes)
    self->send(router, atom::httproute_v,
               register_trigger{id, "http", kept.function_id, kept.config,
                                kept.metadata, caf::actor{self}, node});
}

void peer_state::on_withdraw() {
  for (auto& id : functions)
    self->send(registry, unregister_function{id, caf::actor{self}});
  if (!functions.empty())
    log::info(log_name, "withdrew ", functions.size(), " functions of ", node,
              ", which is leaving");
  functions.clear();
  if (router)
    for (auto& kvp : routes)
      self->send(router, atom::httproute_v,
                 unregister_trigger{kvp.first, caf::actor{self}, node});
  if (!routes.empty())
    log::info(log_name, "withdrew ", routes.size(), " http routes of ", node,
              ", which is leaving");
  routes.clear();
}

void peer_state::on_node_down(const caf::error& reason) {
  if (!pending.empty())
    log::warn(log_name, pending.size(), " calls in flight to ", node,
              " failed: the node is gone (", caf::to_string(reason), ")");
  auto stopped = invoke_result::error(
    "invocation_stopped", "Invocation stopped: node " + node + " is gone");
  for (auto& kvp : pending) kvp.second.promise.deliver(stopped);
  pending.clear();
  outbox.clear();
  auto lost = caf::make_error(errc::enqueue_rejected,
                              "node " + node
                                + ", which owns the job's "
                                  "group, was lost before it confirmed the "
                                  "job; enqueue it again");
  for (auto& kvp : pending_jobs) kvp.second.deliver(lost);
  pending_jobs.clear();
  self->quit();
}

caf::behavior peer_actor(caf::stateful_actor<peer_state>* self,
                         std::string node, caf::actor remote,
                         caf::actor registry) {
  auto& st = self->state;
  st.self = self;
  st.node = std::move(node);
  st.remote = std::move(remote);
  st.registry = std::move(registry);
  st.log_name = "cluster";
  self->monitor(st.remote);
  self->set_down_handler([self](caf::down_msg& dm) {
    if (dm.source == self->state.remote.address())
      self->state.on_node_down(dm.reason);
  });
  // Stopped by the node actor (a new incarnation replaced this one, or the
  // engine stops): the calls in flight fail all the same.
  self->set_exit_handler(
    [self](caf::exit_msg& em) { self->state.on_node_down(em.reason); });
  return {
    [self](invoke& x) { return self->state.on_invoke(x); },
    [self](atom::flush) { self->state.on_flush(); },
    [self](result_batch& b) {
      auto from = caf::actor_cast<caf::actor_addr>(self->current_sender());
      if (from == self->state.remote.address()) self->state.on_results(b);
    },
    [self](atom::sweep) { self->state.on_sweep(); },
    [self](atom::fwdenq, job& x) { return self->state.on_forward(x, false); },
    [self](atom::handover, job& x) { return self->state.on_forward(x, true); },
    // After the jobs handed over before it, on the same link.
    [self](atom::settled, std::string& queue, std::vector<std::string>& under,
           std::string& from) {
      self->send(self->state.remote, atom::settled_v, std::move(queue),
                 std::move(under), std::move(from));
    },
    [self](atom::fnupdate, fn_update& u) { self->state.on_update(u); },
    [self](atom::httproute, http_update& u) { self->state.on_routes(u); },
    [self](atom::httprouter, caf::actor& r) {
      self->state.on_router(std::move(r));
    },
    [self](atom::bye) { self->state.on_withdraw(); },
  };
}

} // namespace troupe
