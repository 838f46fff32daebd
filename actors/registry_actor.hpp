// The registry: which actor owns each function id and trigger, and which
// actor provides each trigger type. Sessions (worker connections), engine
// function actors and remote nodes register here; callers send `invoke` here
// and the registry delegates it to the owner, so the answer goes straight
// back to the caller. Ownership is last-writer-wins; when an owner goes down
// everything it still owns is removed.
#pragma once

#include <string>
#include <unordered_map>
#include <unordered_set>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/messages.hpp"

namespace troupe {

struct registry_state {
  struct function_entry {
    caf::actor owner;
  };

  struct trigger_entry {
    caf::actor owner;
    /// Who serves the trigger (the HTTP router, or a worker's session).
    caf::actor provider;
  };

  /// What one owner holds, so its departure removes exactly that.
  struct holdings {
    std::unordered_set<std::string> functions;
    std::unordered_set<std::string> triggers;
    std::unordered_set<std::string> trigger_types;
  };

  caf::event_based_actor* self = nullptr;
  std::unordered_map<std::string, function_entry> functions;
  std::unordered_map<std::string, trigger_entry> triggers;
  /// Trigger type -> the actor that serves triggers of that type.
  std::unordered_map<std::string, caf::actor> trigger_types;
  std::unordered_map<caf::actor_addr, holdings> owners;

  static inline const char* name = "troupe.registry";

  void on_register_function(register_function& x);
  void on_unregister_function(const unregister_function& x);
  caf::result<invoke_result> on_invoke(invoke& x);
  std::vector<std::string> on_list() const;
  caf::result<void> on_register_trigger(register_trigger& x);
  void on_unregister_trigger(const unregister_trigger& x);
  /// `provider` serves triggers of `type` from now on (last writer wins).
  void on_provide_trigger_type(const std::string& type, caf::actor provider);
  void on_owner_down(const caf::actor_addr& who);

private:
  holdings& holdings_of(const caf::actor& owner);
};

/// Starts with no trigger types: each provider (the HTTP router, a worker's
/// session) announces its own with atom::provide.
caf::behavior registry_actor(caf::stateful_actor<registry_state>* self);

} // namespace troupe
