// The registry's introspection traffic (registry_actor.hpp): the worker
// metadata sessions report, the catalog snapshot, the id watchers and
// worker names. Kept apart from the call and registration paths.
#include <algorithm>
#include <chrono>
#include <set>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "actors/registry_actor.hpp"

namespace troupe {

uint64_t wall_clock_ms() {
  using namespace std::chrono;
  return static_cast<uint64_t>(
    duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count());
}

void registry_state::arm_flush() {
  if (flush_armed) return;
  // Behind whatever is in the mailbox now: one update per drain.
  flush_armed = true;
  self->send(self, atom::flush_v);
}

void registry_state::mark_ids_changed() {
  ids_changed = true;
  if (!id_watchers.empty()) arm_flush();
}

void registry_state::on_worker_meta(protocol::worker_meta& x) {
  auto session = sender();
  if (!session) return;
  auto& h = holdings_of(session);
  h.meta = std::move(x);
  // The id the registry knows it by wins (see on_worker, on_reattach).
  h.meta.worker_id = h.worker_id;
}

void registry_state::on_fnwatch(caf::actor watcher) {
  if (!watcher) return;
  if (std::find(id_watchers.begin(), id_watchers.end(), watcher)
      != id_watchers.end())
    return;
  self->monitor(watcher);
  id_watchers.push_back(std::move(watcher));
}

std::string registry_state::on_wname(const std::string& worker_id) const {
  auto w = workers.find(worker_id);
  if (w == workers.end()) return {};
  auto i = owners.find(w->second);
  if (i == owners.end() || !i->second.meta.registered) return {};
  return i->second.meta.name;
}

protocol::catalog registry_state::on_catalog() const {
  protocol::catalog out;
  out.started_at_ms = started_at_ms;
  auto worker_of = [this](const caf::actor& a) -> std::string {
    auto i = owners.find(a.address());
    return i == owners.end() ? std::string{} : i->second.worker_id;
  };
  out.functions.reserve(functions.size());
  for (auto& [id, entry] : functions) {
    protocol::catalog_function f;
    f.id = id;
    f.local = !entry.local.empty();
    for (auto* list : {&entry.local, &entry.remote})
      for (auto& p : *list) {
        if (f.description.empty()) f.description = p.description;
        if (f.metadata.empty()) f.metadata = p.metadata;
      }
    for (auto& p : entry.local)
      if (auto w = worker_of(p.owner); !w.empty()) f.worker_ids.push_back(w);
    std::set<std::string> nodes;
    for (auto& p : entry.remote) nodes.insert(p.node);
    f.nodes.assign(nodes.begin(), nodes.end());
    out.functions.push_back(std::move(f));
  }
  std::sort(out.functions.begin(), out.functions.end(),
            [](auto& a, auto& b) { return a.id < b.id; });
  for (auto& [type, provider] : trigger_types)
    out.trigger_types.push_back({type, worker_of(provider)});
  std::sort(out.trigger_types.begin(), out.trigger_types.end(),
            [](auto& a, auto& b) { return a.id < b.id; });
  for (auto& [id, t] : triggers)
    out.triggers.push_back({id, t.binding.type, t.binding.function_id,
                            t.binding.config, t.binding.metadata});
  std::sort(out.triggers.begin(), out.triggers.end(),
            [](auto& a, auto& b) { return a.id < b.id; });
  for (auto& [addr, h] : owners)
    if (!h.worker_id.empty()) {
      out.workers.push_back(h.meta);
      out.workers.back().worker_id = h.worker_id;
    }
  std::sort(out.workers.begin(), out.workers.end(),
            [](auto& a, auto& b) { return a.worker_id < b.worker_id; });
  return out;
}

} // namespace troupe
