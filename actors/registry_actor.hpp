// The registry: which actors provide each function id, which actor owns
// each trigger, and which actor provides each trigger type. Sessions (worker
// connections), engine function actors and the peers of remote nodes
// register here; callers send `invoke` here and the registry delegates it to
// one provider, so the answer goes straight back to the caller. The hot
// callers (delivery actors, sessions' sync and Void calls) read the
// providers from the route cache the registry publishes (route_cache.hpp)
// and send to the provider themselves, asking here only when the cache has
// none.
//
// Functions: any number of providers per id. A call goes to a local
// provider when there is one (round-robin over the local ones), else
// round-robin over the remote ones. A provider's unregister or departure
// removes only that provider. Triggers and trigger types: last writer wins.
// When an owner goes down everything it still holds is removed.
//
// A trigger whose type has no provider is parked, not refused, as iii does:
// it waits until some actor provides the type, and then goes to it. When a
// provider goes down its bindings are parked again, and each provider that
// takes a type (again) is sent every binding of it, live or parked. A
// provider that refuses a binding (its triggerregistrationresult carries an
// error) has it parked as well, and the refusal goes to the trigger's owner.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/replies_to.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/messages.hpp"
#include "actors/route_cache.hpp"
#include "actors/type_ids.hpp"
#include "protocol/introspection_api.hpp"
#include "troupe/handles.hpp"

namespace troupe {

/// The registry's full interface: the public registry_handle plus troupe's
/// own traffic.
///  - register_trigger: replaces the trigger of the same id; delegated to
///    the provider of its type, whose unit or error is the reply; without a
///    provider the trigger is parked and the reply is unit;
///  - unregister_trigger: removes the trigger if the sender still owns it;
///    its provider, if it has one, gets it with `type` set;
///  - (provide, type, provider): `provider` serves triggers of `type` from
///    now on (last writer wins) and is sent every trigger of that type;
///  - trigger_result: the sender's verdict on a trigger it was sent; a
///    failure from the trigger's current provider parks the trigger and goes
///    on to its owner; anything else is ignored;
///  - (worker, worker_id): the sending session serves worker `worker_id`;
///  - (reattach, previous_worker_id): the sending session is that worker
///    reconnected; the registry drops every function and trigger the old
///    connection's session still holds, so the new one's replace them;
///  - (localcall, invoke): as invoke, over local providers only (calls from
///    remote nodes come in this way and never bounce to a third node);
///  - (watch, watcher): `watcher` receives (fnupdate, added, removed): first
///    every id with a local provider, then each change, `engine::*` and
///    `iii::*` ids left out; a dead watcher is forgotten;
///  - (providers, id): the node of each provider of `id` ("" when local),
///    local ones first;
///  - (flush): the registry tells its watchers what changed (self-message);
///  - worker_meta: what the sending session knows of its worker, kept for
///    introspection until the session goes;
///  - (catalog): a snapshot for introspection (protocol::catalog);
///  - (fnwatch, watcher): `watcher` receives (fnchanged) after each drain
///    in which function ids appeared or went (engine functions and remote
///    providers included);
///  - (wname, worker_id): that worker's name, "" when unknown.
using registry_actor_type = registry_handle::extend<
  caf::reacts_to<register_trigger>, caf::reacts_to<unregister_trigger>,
  caf::reacts_to<atom::provide, std::string, caf::actor>,
  caf::reacts_to<trigger_result>, caf::reacts_to<atom::worker, std::string>,
  caf::reacts_to<atom::reattach, std::string>,
  caf::replies_to<atom::localcall, invoke>::with<invoke_result>,
  caf::reacts_to<atom::watch, caf::actor>,
  caf::replies_to<atom::providers, std::string>::with<std::vector<std::string>>,
  caf::reacts_to<atom::flush>, caf::reacts_to<protocol::worker_meta>,
  caf::replies_to<atom::catalog>::with<protocol::catalog>,
  caf::reacts_to<atom::fnwatch, caf::actor>,
  caf::replies_to<atom::wname, std::string>::with<std::string>>;

struct registry_state {
  /// One actor serving a function id.
  struct provider {
    caf::actor owner;
    /// Empty for a provider on this node, else the remote node's name.
    std::string node;
    std::string description;
    std::string metadata;
  };

  struct function_entry {
    std::vector<provider> local;
    std::vector<provider> remote;
    /// Round-robin positions, shared with the route cache's tables.
    std::shared_ptr<route_cache::turns> next
      = std::make_shared<route_cache::turns>();
  };

  struct trigger_entry {
    /// The registration as its owner sent it: what a provider is sent.
    register_trigger binding;
    /// Who serves the trigger (the HTTP router, or a worker's session);
    /// null while the trigger is parked.
    caf::actor provider;
  };

  /// What one owner holds, so its departure removes exactly that.
  struct holdings {
    std::unordered_set<std::string> functions;
    std::unordered_set<std::string> triggers;
    std::unordered_set<std::string> trigger_types;
    /// The worker a session announced with atom::worker; empty otherwise.
    std::string worker_id;
    /// What the session last told of its worker (worker_meta).
    protocol::worker_meta meta = {};
  };

  registry_actor_type::pointer self = nullptr;
  std::unordered_map<std::string, function_entry> functions;
  std::unordered_map<std::string, trigger_entry> triggers;
  /// Trigger type -> the actor that serves triggers of that type.
  std::unordered_map<std::string, caf::actor> trigger_types;
  std::unordered_map<caf::actor_addr, holdings> owners;
  /// Worker id -> its session (see on_worker).
  std::unordered_map<std::string, caf::actor_addr> workers;
  /// Watchers and what they have been told: the ids with a local provider
  /// as of the last flush.
  std::vector<caf::actor> watchers;
  std::set<std::string> announced;
  /// Ids whose local providers changed since the last flush.
  std::set<std::string> dirty;
  /// A flush message is on its way (see mark_dirty).
  bool flush_armed = false;
  /// Subscribers to (fnchanged), and whether ids appeared or went since
  /// the last flush.
  std::vector<caf::actor> id_watchers;
  bool ids_changed = false;
  /// Wall clock at spawn, milliseconds since the epoch.
  uint64_t started_at_ms = 0;
  /// Where callers read the providers without asking; may be null.
  std::shared_ptr<route_cache> routes;
  /// Providers were added since the last publish to `routes` (published
  /// at the next flush; callers that miss ask the registry meanwhile).
  bool routes_added = false;
  /// Providers were removed while handling the current message (published
  /// before the next one).
  bool routes_dropped = false;

  /// What its log lines are labelled with.
  std::string log_name = "registry";

  static inline const char* name = "troupe.registry";

  void on_register_function(register_function& x);
  void on_unregister_function(const unregister_function& x);
  caf::result<invoke_result> on_invoke(invoke& x);
  caf::result<invoke_result> on_localcall(invoke& x);
  std::vector<std::string> on_list() const;
  std::vector<std::string> on_providers(const std::string& id) const;
  caf::result<void> on_register_trigger(register_trigger& x);
  void on_unregister_trigger(const unregister_trigger& x);
  void on_provide_trigger_type(const std::string& type, caf::actor provider);
  void on_trigger_result(const trigger_result& x);
  void on_worker(std::string worker_id);
  void on_reattach(const std::string& previous_worker_id);
  void on_watch(caf::actor watcher);
  void on_flush();
  void on_down(const caf::actor_addr& who);
  void on_worker_meta(protocol::worker_meta& x);
  protocol::catalog on_catalog() const;
  void on_fnwatch(caf::actor watcher);
  std::string on_wname(const std::string& worker_id) const;

private:
  holdings& holdings_of(const caf::actor& owner);
  /// The current message's sender as a handle (null when anonymous).
  caf::actor sender() const;
  /// Delegates `x` to a provider picked from `local`, else `remote` (when
  /// `remote_too`); function_not_found when there is none.
  caf::result<invoke_result> dispatch(invoke& x, bool remote_too);
  /// Removes `owner` as a provider of `id`; the id goes when it was the last.
  void drop_provider(const std::string& id, const caf::actor_addr& owner);
  /// Removes trigger `id` of `owner` and tells its provider.
  void drop_trigger(const std::string& id, const caf::actor_addr& owner);
  /// Sends a parked or live trigger to `provider`, which serves it from now
  /// on; a refusal in its reply parks it (see refused).
  void replay(trigger_entry& e, const caf::actor& provider);
  /// Parks the trigger of `e`: no provider serves it until its type is
  /// provided (again).
  void park(trigger_entry& e, const std::string& why);
  /// `provider` refused trigger `id`: parks it and tells its owner.
  void refused(const std::string& id, const caf::actor& provider,
               std::string code, std::string message);
  /// Parks the triggers `provider` served for `type`: it is gone.
  void orphan(const std::string& type, const caf::actor_addr& provider);
  /// Tells the watchers which ids gained or lost local providers since they
  /// last heard.
  void publish();
  /// Notes that `id`'s local providers changed; watchers hear of it once the
  /// messages now in the mailbox are handled.
  void mark_dirty(const std::string& id);
  /// Notes that the set of function ids changed; id watchers hear of it
  /// once the messages now in the mailbox are handled.
  void mark_ids_changed();
  /// Arms the (flush) self-message once.
  void arm_flush();
  /// Publishes the providers of every id to `routes`.
  void publish_routes();
  /// Publishes at once if the current message removed a provider.
  void publish_drops();
};

/// Milliseconds since the epoch, for what introspection reports.
uint64_t wall_clock_ms();

/// Starts with no trigger types: each provider (the HTTP router, a worker's
/// session) announces its own with atom::provide. Publishes its providers
/// to `routes` unless that is null.
registry_actor_type::behavior_type
registry_actor(registry_actor_type::stateful_pointer<registry_state> self,
               std::string log_name, std::shared_ptr<route_cache> routes);

} // namespace troupe
