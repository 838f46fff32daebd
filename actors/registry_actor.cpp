#include "actors/registry_actor.hpp"

#include <algorithm>

#include <caf/event_based_actor.hpp>

#include "actors/type_ids.hpp"
#include "base/errc.hpp"
#include "base/log.hpp"
#include "protocol/frames.hpp"

namespace troupe {

namespace {

constexpr auto log_name = "registry";

} // namespace

registry_state::holdings& registry_state::holdings_of(const caf::actor& owner) {
  auto [i, added] = owners.try_emplace(owner.address());
  if (added) self->monitor(owner);
  return i->second;
}

void registry_state::on_register_function(register_function& x) {
  if (!x.owner) return;
  auto& entry = functions[x.id];
  if (entry.owner && entry.owner != x.owner) {
    log::debug(log_name, "function ", x.id, " re-registered by another "
               "connection; the last one wins");
    if (auto i = owners.find(entry.owner.address()); i != owners.end())
      i->second.functions.erase(x.id);
  }
  holdings_of(x.owner).functions.insert(x.id);
  entry.owner = std::move(x.owner);
}

void registry_state::on_unregister_function(const unregister_function& x) {
  auto i = functions.find(x.id);
  if (i == functions.end() || i->second.owner != x.owner) return;
  functions.erase(i);
  if (auto j = owners.find(x.owner.address()); j != owners.end())
    j->second.functions.erase(x.id);
}

caf::result<invoke_result> registry_state::on_invoke(invoke& x) {
  auto i = functions.find(x.function_id);
  if (i == functions.end())
    return invoke_result{false, protocol::error_body_json(
                                  "function_not_found",
                                  "Function " + x.function_id + " not found")};
  auto rp = self->make_response_promise();
  rp.delegate(i->second.owner, std::move(x));
  return rp;
}

std::vector<std::string> registry_state::on_list() const {
  std::vector<std::string> ids;
  ids.reserve(functions.size());
  for (auto& kvp : functions) ids.push_back(kvp.first);
  std::sort(ids.begin(), ids.end());
  return ids;
}

caf::result<void> registry_state::on_register_trigger(register_trigger& x) {
  auto provider = trigger_types.find(x.type);
  if (provider == trigger_types.end())
    return caf::make_error(errc::bad_frame,
                           "trigger type '" + x.type
                             + "' is not provided by this engine or any "
                               "connected worker");
  if (auto old = triggers.find(x.id); old != triggers.end()) {
    if (auto j = owners.find(old->second.owner.address()); j != owners.end())
      j->second.triggers.erase(x.id);
    self->send(old->second.provider,
               unregister_trigger{x.id, old->second.owner});
  }
  holdings_of(x.owner).triggers.insert(x.id);
  triggers[x.id] = trigger_entry{x.owner, provider->second};
  auto rp = self->make_response_promise();
  rp.delegate(provider->second, std::move(x));
  return rp;
}

void registry_state::on_unregister_trigger(const unregister_trigger& x) {
  auto i = triggers.find(x.id);
  if (i == triggers.end() || i->second.owner != x.owner) return;
  self->send(i->second.provider, x);
  triggers.erase(i);
  if (auto j = owners.find(x.owner.address()); j != owners.end())
    j->second.triggers.erase(x.id);
}

void registry_state::on_provide_trigger_type(const std::string& type,
                                             caf::actor provider) {
  if (auto i = trigger_types.find(type);
      i != trigger_types.end() && i->second != provider) {
    if (auto j = owners.find(i->second.address()); j != owners.end())
      j->second.trigger_types.erase(type);
  }
  holdings_of(provider).trigger_types.insert(type);
  trigger_types[type] = std::move(provider);
}

void registry_state::on_owner_down(const caf::actor_addr& who) {
  auto i = owners.find(who);
  if (i == owners.end()) return;
  for (auto& id : i->second.functions) functions.erase(id);
  for (auto& id : i->second.triggers) {
    if (auto t = triggers.find(id); t != triggers.end()) {
      self->send(t->second.provider, unregister_trigger{id, t->second.owner});
      triggers.erase(t);
    }
  }
  for (auto& type : i->second.trigger_types) trigger_types.erase(type);
  owners.erase(i);
}

caf::behavior registry_actor(caf::stateful_actor<registry_state>* self) {
  self->state.self = self;
  self->set_down_handler(
    [self](caf::down_msg& dm) { self->state.on_owner_down(dm.source); });
  return {
    [self](register_function& x) { self->state.on_register_function(x); },
    [self](const unregister_function& x) {
      self->state.on_unregister_function(x);
    },
    [self](invoke& x) { return self->state.on_invoke(x); },
    [self](atom::list) { return self->state.on_list(); },
    [self](register_trigger& x) { return self->state.on_register_trigger(x); },
    [self](const unregister_trigger& x) {
      self->state.on_unregister_trigger(x);
    },
    [self](atom::provide, const std::string& type, caf::actor& provider) {
      self->state.on_provide_trigger_type(type, std::move(provider));
    },
  };
}

} // namespace troupe
