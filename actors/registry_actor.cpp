#include "actors/registry_actor.hpp"

#include <algorithm>
#include <atomic>

#include <caf/actor_cast.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>

#include "base/errc.hpp"
#include "base/log.hpp"
#include "protocol/frames.hpp"

namespace troupe {

namespace {

// A typed actor sends to untyped handles (providers, watchers) with
// anon_send; none of them answers or needs the sender.

/// The engine's own functions exist on every node: never announced.
bool engine_function(const std::string& id) {
  return id.rfind("engine::", 0) == 0 || id.rfind("iii::", 0) == 0;
}

using provider_list = std::vector<registry_state::provider>;

provider_list::iterator find_owner(provider_list& xs,
                                   const caf::actor_addr& owner) {
  return std::find_if(xs.begin(), xs.end(), [&](const auto& p) {
    return p.owner.address() == owner;
  });
}

/// Removes `*i` from `xs` so that the provider whose turn is next keeps it
/// (`next` counts turns; its position is next % size).
void erase_provider(provider_list& xs, provider_list::iterator i,
                    std::atomic<size_t>& next) {
  auto at = static_cast<size_t>(i - xs.begin());
  auto turn = xs.empty() ? 0 : next.load(std::memory_order_relaxed) % xs.size();
  xs.erase(i);
  next.store(at < turn ? turn - 1 : turn, std::memory_order_relaxed);
}

/// The next provider of `xs` in turn. REQUIRES: `xs` is not empty.
const caf::actor& next_of(const provider_list& xs, std::atomic<size_t>& next) {
  return xs[next.fetch_add(1, std::memory_order_relaxed) % xs.size()].owner;
}

} // namespace

// -- bookkeeping --------------------------------------------------------------

registry_state::holdings& registry_state::holdings_of(const caf::actor& owner) {
  auto [i, added] = owners.try_emplace(owner.address());
  if (added) self->monitor(owner);
  return i->second;
}

caf::actor registry_state::sender() const {
  return caf::actor_cast<caf::actor>(self->current_sender());
}

void registry_state::mark_dirty(const std::string& id) {
  if (engine_function(id)) return;
  dirty.insert(id);
  if (flush_armed || watchers.empty()) return;
  // Behind whatever is in the mailbox now: one update per drain.
  flush_armed = true;
  self->send(self, atom::flush_v);
}

void registry_state::on_flush() {
  flush_armed = false;
  if (routes_added) publish_routes();
  publish();
  if (ids_changed) {
    ids_changed = false;
    for (auto& w : id_watchers) caf::anon_send(w, atom::fnchanged_v);
  }
}

void registry_state::publish() {
  std::vector<std::string> added;
  std::vector<std::string> removed;
  for (auto& id : dirty) {
    auto i = functions.find(id);
    bool local = i != functions.end() && !i->second.local.empty();
    bool told = announced.count(id) > 0;
    if (local && !told) {
      added.push_back(id);
      announced.insert(id);
    } else if (!local && told) {
      removed.push_back(id);
      announced.erase(id);
    }
  }
  dirty.clear();
  if (added.empty() && removed.empty()) return;
  for (auto& w : watchers) caf::anon_send(w, atom::fnupdate_v, added, removed);
}

// -- functions ----------------------------------------------------------------

void registry_state::on_register_function(register_function& x) {
  if (!x.owner) return;
  auto [at, added] = functions.try_emplace(x.id);
  if (added) mark_ids_changed();
  auto& entry = at->second;
  auto& list = x.node.empty() ? entry.local : entry.remote;
  auto& other = x.node.empty() ? entry.remote : entry.local;
  auto addr = x.owner.address();
  // The same owner again: an update (it may also have changed sides).
  if (auto i = find_owner(other, addr); i != other.end()) other.erase(i);
  auto i = find_owner(list, addr);
  if (i == list.end()) {
    holdings_of(x.owner).functions.insert(x.id);
    list.push_back(provider{std::move(x.owner), std::move(x.node), {}, {}});
    i = list.end() - 1;
    if (list.size() > 1 || !other.empty())
      log::debug(log_name, "function ", x.id, " has ",
                 entry.local.size() + entry.remote.size(), " providers");
  }
  i->description = std::move(x.description);
  i->metadata = std::move(x.metadata);
  mark_dirty(x.id);
  if (routes) {
    routes_added = true;
    arm_flush();
  }
}

void registry_state::publish_routes() {
  routes_added = false;
  routes_dropped = false;
  if (!routes) return;
  auto t = std::make_shared<route_cache::table>();
  t->reserve(functions.size());
  for (auto& [id, entry] : functions) {
    auto& r = (*t)[id];
    for (auto& p : entry.local) r.local.push_back(p.owner);
    for (auto& p : entry.remote) r.remote.push_back(p.owner);
    r.next = entry.next;
  }
  routes->publish(std::move(t));
}

void registry_state::publish_drops() {
  if (routes_dropped) publish_routes();
}

void registry_state::drop_provider(const std::string& id,
                                   const caf::actor_addr& owner) {
  auto i = functions.find(id);
  if (i == functions.end()) return;
  auto& entry = i->second;
  if (auto j = find_owner(entry.local, owner); j != entry.local.end()) {
    erase_provider(entry.local, j, entry.next->local);
    mark_dirty(id);
    routes_dropped = true;
  } else if (auto k = find_owner(entry.remote, owner);
             k != entry.remote.end()) {
    erase_provider(entry.remote, k, entry.next->remote);
    routes_dropped = true;
  }
  if (entry.local.empty() && entry.remote.empty()) {
    functions.erase(i);
    mark_ids_changed();
  }
}

void registry_state::on_unregister_function(const unregister_function& x) {
  auto addr = x.owner.address();
  drop_provider(x.id, addr);
  if (auto j = owners.find(addr); j != owners.end())
    j->second.functions.erase(x.id);
  publish_drops();
}

caf::result<invoke_result> registry_state::dispatch(invoke& x,
                                                    bool remote_too) {
  auto i = functions.find(x.function_id);
  const caf::actor* dest = nullptr;
  if (i != functions.end()) {
    auto& entry = i->second;
    if (!entry.local.empty())
      dest = &next_of(entry.local, entry.next->local);
    else if (remote_too && !entry.remote.empty())
      dest = &next_of(entry.remote, entry.next->remote);
  }
  if (!dest)
    return invoke_result{false, protocol::error_body_json(
                                  "function_not_found",
                                  "Function " + x.function_id + " not found")};
  auto rp = self->make_response_promise();
  rp.delegate(*dest, std::move(x));
  return rp;
}

caf::result<invoke_result> registry_state::on_invoke(invoke& x) {
  return dispatch(x, true);
}

caf::result<invoke_result> registry_state::on_localcall(invoke& x) {
  return dispatch(x, false);
}

std::vector<std::string> registry_state::on_list() const {
  std::vector<std::string> ids;
  ids.reserve(functions.size());
  for (auto& kvp : functions) ids.push_back(kvp.first);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string>
registry_state::on_providers(const std::string& id) const {
  std::vector<std::string> nodes;
  auto i = functions.find(id);
  if (i == functions.end()) return nodes;
  for (auto& p : i->second.local) nodes.push_back(p.node);
  for (auto& p : i->second.remote) nodes.push_back(p.node);
  return nodes;
}

// -- triggers -----------------------------------------------------------------

caf::result<void> registry_state::on_register_trigger(register_trigger& x) {
  if (auto old = triggers.find(x.id); old != triggers.end()) {
    auto& prev = old->second;
    if (auto j = owners.find(prev.binding.owner.address()); j != owners.end())
      j->second.triggers.erase(x.id);
    if (prev.provider)
      caf::anon_send(
        prev.provider,
        unregister_trigger{x.id, prev.binding.owner, {}, prev.binding.type});
  }
  holdings_of(x.owner).triggers.insert(x.id);
  auto provider = trigger_types.find(x.type);
  if (provider == trigger_types.end()) {
    log::warn(log_name, "trigger ", x.id, " (function ", x.function_id,
              ") is parked: no worker provides trigger type ", x.type,
              " yet; it is registered once one does");
    auto id = x.id;
    triggers[id] = trigger_entry{std::move(x), {}};
    return caf::unit;
  }
  triggers[x.id] = trigger_entry{x, provider->second};
  auto rp = self->make_response_promise();
  rp.delegate(provider->second, std::move(x));
  return rp;
}

void registry_state::drop_trigger(const std::string& id,
                                  const caf::actor_addr& owner) {
  auto i = triggers.find(id);
  if (i == triggers.end() || i->second.binding.owner.address() != owner) return;
  auto& e = i->second;
  if (e.provider)
    caf::anon_send(e.provider,
                   unregister_trigger{id, e.binding.owner, {}, e.binding.type});
  triggers.erase(i);
}

void registry_state::on_unregister_trigger(const unregister_trigger& x) {
  auto addr = x.owner.address();
  drop_trigger(x.id, addr);
  if (auto j = owners.find(addr); j != owners.end())
    j->second.triggers.erase(x.id);
}

void registry_state::on_provide_trigger_type(const std::string& type,
                                             caf::actor provider) {
  if (!provider) return;
  if (auto i = trigger_types.find(type);
      i != trigger_types.end() && i->second != provider) {
    if (auto j = owners.find(i->second.address()); j != owners.end())
      j->second.trigger_types.erase(type);
  }
  holdings_of(provider).trigger_types.insert(type);
  trigger_types[type] = provider;
  // A new provider, or the same one again (a restarted provider's replay):
  // it serves every trigger of the type from now on.
  for (auto& kvp : triggers)
    if (kvp.second.binding.type == type) replay(kvp.second, provider);
}

void registry_state::replay(trigger_entry& e, const caf::actor& provider) {
  if (!e.provider)
    log::info(log_name, "trigger ", e.binding.id, " (type ", e.binding.type,
              ", function ", e.binding.function_id,
              ") goes to the provider of its type now");
  e.provider = provider;
  auto id = e.binding.id;
  self->request(provider, caf::infinite, e.binding)
    .then([] {},
          [this, id, provider](caf::error& err) {
            // A provider that is gone: its down message parks the trigger.
            if (err == caf::sec::request_receiver_down) return;
            refused(id, provider, "trigger_registration_failed",
                    error_text(err));
          });
}

void registry_state::park(trigger_entry& e, const std::string& why) {
  e.provider = nullptr;
  log::warn(log_name, "trigger ", e.binding.id, " (type ", e.binding.type,
            ", function ", e.binding.function_id, ") is parked: ", why,
            "; it is registered again once a worker provides ", e.binding.type);
}

void registry_state::refused(const std::string& id, const caf::actor& provider,
                             std::string code, std::string message) {
  auto i = triggers.find(id);
  // Gone, parked, or already with another provider: that one decides.
  if (i == triggers.end() || !i->second.provider
      || i->second.provider != provider)
    return;
  auto& e = i->second;
  park(e, "its provider refused it: " + message);
  caf::anon_send(e.binding.owner,
                 trigger_result{id, e.binding.type, e.binding.function_id, true,
                                std::move(code), std::move(message)});
}

void registry_state::on_trigger_result(const trigger_result& x) {
  auto from = sender();
  auto i = triggers.find(x.id);
  if (i == triggers.end() || !from || i->second.provider != from) {
    log::debug(log_name, "ignored a trigger registration result for ", x.id,
               ": not from the provider that serves it");
    return;
  }
  if (!x.failed) return;
  refused(x.id, from, x.code, x.message);
}

void registry_state::orphan(const std::string& type,
                            const caf::actor_addr& provider) {
  for (auto& kvp : triggers) {
    auto& e = kvp.second;
    if (e.binding.type == type && e.provider
        && e.provider.address() == provider)
      park(e, "its provider disconnected");
  }
}

// -- workers and their reconnects ---------------------------------------------

void registry_state::on_worker(std::string worker_id) {
  auto session = sender();
  if (!session || worker_id.empty()) return;
  auto& h = holdings_of(session);
  if (!h.worker_id.empty()) workers.erase(h.worker_id);
  h.worker_id = worker_id;
  workers[std::move(worker_id)] = session.address();
}

void registry_state::on_reattach(const std::string& previous_worker_id) {
  auto w = workers.find(previous_worker_id);
  if (w == workers.end()) return; // its old session is gone already
  auto old = w->second;
  if (old == sender().address()) return;
  workers.erase(w);
  auto i = owners.find(old);
  if (i == owners.end()) return;
  auto& h = i->second;
  log::info(log_name, "worker ", previous_worker_id,
            " reconnected: ", "dropping the ", h.functions.size(),
            " functions and ", h.triggers.size(),
            " triggers of its old connection");
  for (auto& id : h.functions) drop_provider(id, old);
  publish_drops();
  for (auto& id : h.triggers) drop_trigger(id, old);
  h.functions.clear();
  h.triggers.clear();
  h.worker_id.clear();
  h.meta = {};
}

// -- watchers -----------------------------------------------------------------

void registry_state::on_watch(caf::actor watcher) {
  if (!watcher) return;
  // The others hear of pending changes first, so the snapshot is exact.
  publish();
  std::vector<std::string> snapshot{announced.begin(), announced.end()};
  caf::anon_send(watcher, atom::fnupdate_v, std::move(snapshot),
                 std::vector<std::string>{});
  if (std::find(watchers.begin(), watchers.end(), watcher) == watchers.end()) {
    self->monitor(watcher);
    watchers.push_back(std::move(watcher));
  }
}

// -- departures ---------------------------------------------------------------

void registry_state::on_down(const caf::actor_addr& who) {
  watchers.erase(
    std::remove_if(watchers.begin(), watchers.end(),
                   [&](const caf::actor& w) { return w.address() == who; }),
    watchers.end());
  id_watchers.erase(
    std::remove_if(id_watchers.begin(), id_watchers.end(),
                   [&](const caf::actor& w) { return w.address() == who; }),
    id_watchers.end());
  auto i = owners.find(who);
  if (i == owners.end()) return;
  auto& h = i->second;
  for (auto& id : h.functions) drop_provider(id, who);
  publish_drops();
  for (auto& id : h.triggers) drop_trigger(id, who);
  for (auto& type : h.trigger_types) {
    trigger_types.erase(type);
    orphan(type, who);
  }
  if (!h.worker_id.empty()) {
    auto w = workers.find(h.worker_id);
    if (w != workers.end() && w->second == who) workers.erase(w);
  }
  owners.erase(i);
}

registry_actor_type::behavior_type
registry_actor(registry_actor_type::stateful_pointer<registry_state> self,
               std::string log_name, std::shared_ptr<route_cache> routes) {
  self->state.log_name = std::move(log_name);
  self->state.routes = std::move(routes);
  self->state.self = self;
  self->state.started_at_ms = wall_clock_ms();
  self->set_down_handler(
    [self](caf::down_msg& dm) { self->state.on_down(dm.source); });
  return {
    [self](invoke& x) { return self->state.on_invoke(x); },
    [self](register_function& x) { self->state.on_register_function(x); },
    [self](unregister_function& x) { self->state.on_unregister_function(x); },
    [self](atom::list) { return self->state.on_list(); },
    [self](register_trigger& x) { return self->state.on_register_trigger(x); },
    [self](unregister_trigger& x) { self->state.on_unregister_trigger(x); },
    [self](atom::provide, std::string& type, caf::actor& provider) {
      self->state.on_provide_trigger_type(type, std::move(provider));
    },
    [self](trigger_result& x) { self->state.on_trigger_result(x); },
    [self](atom::worker, std::string& id) {
      self->state.on_worker(std::move(id));
    },
    [self](atom::reattach, std::string& id) { self->state.on_reattach(id); },
    [self](atom::localcall, invoke& x) { return self->state.on_localcall(x); },
    [self](atom::watch, caf::actor& w) { self->state.on_watch(std::move(w)); },
    [self](atom::providers, std::string& id) {
      return self->state.on_providers(id);
    },
    [self](atom::flush) { self->state.on_flush(); },
    [self](protocol::worker_meta& x) { self->state.on_worker_meta(x); },
    [self](atom::catalog) { return self->state.on_catalog(); },
    [self](atom::fnwatch, caf::actor& w) {
      self->state.on_fnwatch(std::move(w));
    },
    [self](atom::wname, std::string& id) { return self->state.on_wname(id); },
  };
}

} // namespace troupe
