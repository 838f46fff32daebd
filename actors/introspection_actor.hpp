// The engine's introspection functions and its log functions, served by
// the engine itself (README: Introspection): engine::functions::list /
// info, engine::workers::list / info, engine::triggers::list,
// engine::registered-triggers::list / info and engine::log::{debug, info,
// warn, error}. It also provides the trigger type
// engine::functions-available: a trigger of that type has its function
// called with iii's payload whenever function ids appear or go.
//
// register_introspection_functions() registers the functions with the
// actor as their owner and the trigger type with it as its provider, so
// workers, remote nodes and embedders reach them like any function. Each
// introspection call asks the registry for a catalog and renders it with
// protocol/introspection_api.hpp; it answers for this node (functions of
// other nodes included, with their `nodes`).
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/messages.hpp"

namespace troupe {

/// The engine::log::* ids the actor serves.
const std::vector<std::string>& log_function_ids();

/// The trigger type the actor provides.
constexpr const char* functions_available_trigger
  = "engine::functions-available";

struct introspection_state {
  /// A trigger of type engine::functions-available.
  struct subscriber {
    std::string function_id;
    std::string metadata;
  };

  caf::event_based_actor* self = nullptr;
  caf::actor registry;
  std::unordered_map<std::string, subscriber> triggers;

  static inline const char* name = "troupe.introspection";

  /// An introspection call: the catalog's answer; a log call: the line is
  /// written, then null. Bad input: invalid_argument (never an exception).
  caf::result<invoke_result> on_invoke(invoke& x);
  /// From the registry: a trigger of type engine::functions-available.
  /// Reply: unit (always accepted).
  caf::result<void> on_register_trigger(const register_trigger& x);
  void on_unregister_trigger(const unregister_trigger& x);
  /// From the registry: function ids appeared or went; every trigger's
  /// function is called (Void) with functions_available_json.
  void on_fnchanged();

private:
  caf::result<invoke_result> log_call(invoke& x);
};

caf::behavior
introspection_actor(caf::stateful_actor<introspection_state>* self,
                    caf::actor registry);

/// Registers every introspection and log function with `functions` (an
/// introspection actor) as owner, and it as the provider of
/// engine::functions-available. Sent from the calling thread, so a call the
/// same thread sends to `registry` afterwards finds them.
void register_introspection_functions(const caf::actor& registry,
                                      const caf::actor& functions);

} // namespace troupe
